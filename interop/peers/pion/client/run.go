package client

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v3"
	"webrtcecho/pion/peer"
)

// closeTimeout bounds pc.Close so that a stuck peer never keeps the client alive.
const closeTimeout = 2 * time.Second

// Run performs one Echo Test and returns nil on success or a *Failure. It prints its
// sub-checks (checks.go) on stderr as it decides them.
func Run(opts Options) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
	defer cancel()
	watch := peer.NewStopwatch("")

	hold := newHoldBack()
	sctpLogs := newSCTPWatch()
	api, err := peer.NewAPIWith(peer.APIOptions{Innermost: []interceptor.Factory{holdBackFactory{hold}}, LoggerFactory: sctpLogs, LoopbackOnly: peer.IsLoopbackURL(opts.URL)})
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
	connection := peer.WatchConnection(pc, peer.ConnectionHooks{
		ICEConnected: func() { watch.Mark("ice_connected") },
		Connected:    func() { peer.LogDTLSKeys(pc) },
	})
	var offerSDP, answerSDP string
	var channel *echoChannel
	defer func() {
		// The transport sub-checks, on failed runs too (a=setup says a lot about a stalled handshake).
		if answerSDP == "" {
			return
		}
		connected := connection.IsConnected()
		if connection.PionMissedConnected() {
			fmt.Fprintf(os.Stderr, "note pion's PeerConnectionState never said connected (it says %s, ICE %s); ICE and DTLS did\n", pc.ConnectionState(), pc.ICEConnectionState())
		}
		checkDTLSRole(offerSDP, answerSDP, connection.ICEConnected(), connected)
		if !connected {
			return
		}
		if opts.Test == 0 {
			report("srtp-profile", "n/a", "pion 3.1.56 fills no srtpCipher in its stats and exports no DTLS connection")
			return
		}
		switch {
		case sctpLogs.zeroChecksum.Load():
			report("sctp-zero-checksum", "fail", "the remote SCTP announced Zero Checksum Acceptable (0x8001), which pion/sctp 1.8.6 cannot parse: it dropped the INIT")
		case channel != nil && channel.opened.Load():
			report("sctp-zero-checksum", "pass", "the data channel opened, and pion/sctp 1.8.6 logged no INIT with parameter 0x8001 (it drops such an INIT)")
		default:
			report("sctp-zero-checksum", "n/a", "the data channel did not open, and pion logged no INIT with parameter 0x8001")
		}
	}()

	var sending *mediaLoop
	if opts.Test == 1 {
		if channel, err = openEchoChannel(pc, watch); err != nil {
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
	offerSDP = pc.LocalDescription().SDP

	answer, err := postOffer(ctx, opts.URL, pc.LocalDescription())
	if err != nil {
		return err
	}
	watch.Mark("answer")
	answerSDP = answer.SDP
	if err := pc.SetRemoteDescription(answer); err != nil {
		return fail(ReasonBadAnswer, "set answer: %v", err)
	}

	if err := waitFor(ctx, connection.Connected, connection.Failed, "connection (ICE+DTLS)"); err != nil {
		f := err.(*Failure) // what waitFor returns; the states say where the connection stopped
		return fail(f.Reason, "%s (%s; pion's own states: peer connection %s, ICE %s)", f.Detail, connection.State(), pc.ConnectionState(), pc.ICEConnectionState())
	}
	watch.Mark("connected")
	reportSelectedPair(pc)

	if opts.Test == 1 {
		select {
		case err := <-channel.result:
			if err == nil {
				watch.Mark("dc_echo")
			}
			// The sub-checks after a wrong echo too: they say more about it.
			if left := time.Until(deadlineOf(ctx)) - 500*time.Millisecond; left > 500*time.Millisecond {
				if left > 3*time.Second {
					left = 3 * time.Second
				}
				channel.probe(offerSDP, answerSDP, left)
			}
			return err
		case <-connection.Failed:
			return fail(ReasonConnectionFailed, "connection %s before the data channel echo", connection.State())
		case <-ctx.Done():
			return fail(ReasonTimeout, "no data channel echo within %s", opts.Timeout)
		}
	}
	return checkMediaEcho(ctx, opts, sending, watch, func() {
		if time.Until(deadlineOf(ctx)) > mediaProbeTime {
			sending.probeMedia(pc, answerSDP, hold)
			return
		}
		for _, name := range []string{"mid-extension", "nack", "pli-keyframe"} {
			report(name, "n/a", "too little time left in --timeout to probe")
		}
	})
}

func deadlineOf(ctx context.Context) time.Time {
	deadline, _ := ctx.Deadline()
	return deadline
}

// checkMediaEcho keeps media flowing for --echo-ms and reports what came back.
// Echo is optional in the Echo Test, so it fails only with --require-echo.
// probe runs once the first echo is in, while media still flows (the sub-checks).
func checkMediaEcho(ctx context.Context, opts Options, m *mediaLoop, watch *peer.Stopwatch, probe func()) error {
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
				probe()
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
