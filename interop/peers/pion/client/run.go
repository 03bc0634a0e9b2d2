package client

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/pion/webrtc/v3"
	"webrtcecho/pion/peer"
)

// closeTimeout bounds pc.Close so that a stuck peer never keeps the client alive.
const closeTimeout = 2 * time.Second

// Run performs one Echo Test and returns nil on success or a *Failure.
func Run(opts Options) error {
	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
	defer cancel()
	watch := peer.NewStopwatch("")

	api, err := peer.NewAPI()
	if err != nil {
		return fail(ReasonInternal, "pion API: %v", err)
	}
	config := webrtc.Configuration{ICEServers: opts.ICEServers}
	if opts.RelayOnly {
		config.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err := api.NewPeerConnection(config)
	if err != nil {
		return fail(ReasonInternal, "peer connection: %v", err)
	}
	defer closeBounded(pc)
	connection := watchConnection(pc)

	var sending *mediaLoop
	var dcResult <-chan error
	if opts.Test == 1 {
		if dcResult, err = openEchoChannel(pc, watch); err != nil {
			return fail(ReasonInternal, "data channel: %v", err)
		}
	} else {
		clip := findClip(opts.IVF)
		if sending, err = addMedia(pc, clip); err != nil {
			return fail(ReasonInternal, "tracks: %v", err)
		}
		defer sending.close()
		if clip == "" {
			fmt.Fprintln(os.Stderr, "video synthetic (no VP8 .ivf found)")
		} else {
			fmt.Fprintf(os.Stderr, "video %s\n", clip)
		}
	}

	// Non-trickle: the offer leaves only once every candidate is inside it.
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return fail(ReasonInternal, "create offer: %v", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return fail(ReasonInternal, "set offer: %v", err)
	}
	if err := waitFor(ctx, gathered, nil, "ICE gathering"); err != nil {
		return err
	}
	watch.Mark("offer")

	answer, err := postOffer(ctx, opts.URL, pc.LocalDescription())
	if err != nil {
		return err
	}
	watch.Mark("answer")
	if err := pc.SetRemoteDescription(answer); err != nil {
		return fail(ReasonBadAnswer, "set answer: %v", err)
	}

	if err := waitFor(ctx, connection.connected, connection.failed, "connection (ICE+DTLS)"); err != nil {
		return err
	}
	watch.Mark("connected")
	reportSelectedPair(pc)

	if opts.Test == 1 {
		select {
		case err := <-dcResult:
			if err != nil {
				return err
			}
			watch.Mark("dc_echo")
			return nil
		case <-connection.failed:
			return fail(ReasonConnectionFailed, "connection %s before the data channel echo", connection.state())
		case <-ctx.Done():
			return fail(ReasonTimeout, "no data channel echo within %s", opts.Timeout)
		}
	}
	return checkMediaEcho(ctx, opts, sending, watch)
}

// checkMediaEcho keeps media flowing for --echo-ms and reports what came back.
// Echo is optional in the Echo Test, so it fails only with --require-echo.
func checkMediaEcho(ctx context.Context, opts Options, m *mediaLoop, watch *peer.Stopwatch) error {
	if opts.EchoWait <= 0 {
		return nil
	}
	m.start()
	window := time.NewTimer(opts.EchoWait)
	defer window.Stop()
	first := m.firstEcho
	for {
		select {
		case <-first:
			watch.Mark("first_echo")
			first = nil
			if opts.NeedEcho {
				fmt.Fprintf(os.Stderr, "echo-packets %d\n", m.echoed.Load())
				return nil
			}
		case <-window.C:
			fmt.Fprintf(os.Stderr, "echo-packets %d\n", m.echoed.Load())
			if opts.NeedEcho && m.echoed.Load() == 0 {
				return fail(ReasonNoEcho, "no RTP echoed within %s", opts.EchoWait)
			}
			return nil
		case <-ctx.Done():
			fmt.Fprintf(os.Stderr, "echo-packets %d\n", m.echoed.Load())
			if opts.NeedEcho && m.echoed.Load() == 0 {
				return fail(ReasonTimeout, "no RTP echoed within --timeout")
			}
			return nil
		}
	}
}

// connectionWatch turns pion's state callbacks into channels closed once.
type connectionWatch struct {
	connected, failed chan struct{}
	onConnect, onFail sync.Once
	mu                sync.Mutex
	last              webrtc.PeerConnectionState
}

func watchConnection(pc *webrtc.PeerConnection) *connectionWatch {
	w := &connectionWatch{connected: make(chan struct{}), failed: make(chan struct{})}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		w.mu.Lock()
		w.last = s
		w.mu.Unlock()
		switch s {
		case webrtc.PeerConnectionStateConnected:
			w.onConnect.Do(func() { close(w.connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateDisconnected:
			w.onFail.Do(func() { close(w.failed) })
		}
	})
	return w
}

func (w *connectionWatch) state() webrtc.PeerConnectionState {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// waitFor waits for done, failing on failed (may be nil) or the deadline.
func waitFor(ctx context.Context, done <-chan struct{}, failed <-chan struct{}, what string) error {
	select {
	case <-done:
		return nil
	case <-failed:
		return fail(ReasonConnectionFailed, "%s failed", what)
	case <-ctx.Done():
		return fail(ReasonTimeout, "waiting for %s", what)
	}
}

func closeBounded(pc *webrtc.PeerConnection) {
	done := make(chan struct{})
	go func() {
		_ = pc.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(closeTimeout):
		fmt.Fprintln(os.Stderr, "warning: peer connection close timed out")
	}
}

// reportSelectedPair prints the pair ICE selected on stderr, for the matrix and the tests:
// "selected-pair host udp 10.0.0.2:5000 -> prflx udp 203.0.113.1:6000".
func reportSelectedPair(pc *webrtc.PeerConnection) {
	var transport *webrtc.DTLSTransport
	if sctp := pc.SCTP(); sctp != nil {
		transport = sctp.Transport()
	}
	for _, sender := range pc.GetSenders() {
		if transport == nil {
			transport = sender.Transport()
		}
	}
	if transport == nil {
		return
	}
	pair, err := transport.ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		return
	}
	end := func(c *webrtc.ICECandidate) string {
		return fmt.Sprintf("%s %s %s:%d", c.Typ, c.Protocol, c.Address, c.Port)
	}
	fmt.Fprintf(os.Stderr, "selected-pair %s -> %s\n", end(pair.Local), end(pair.Remote))
}
