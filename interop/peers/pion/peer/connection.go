package peer

import (
	"sync"
	"sync/atomic"

	"github.com/pion/webrtc/v3"
)

// ConnectionWatch says when a peer connection is up (ICE connected and DTLS connected) and when
// it went down, from the ICE and DTLS transports' own events, not from pion's
// PeerConnectionState, which can miss "connected" for good. pion/ice 2.3.1 runs each ICE state
// handler in a goroutine of its own (agent.go, startOnConnectionStateChangeRoutine: `go
// a.onConnectionStateChange(s)`), so under load "checking" can land after "connected". pion/webrtc
// 3.1.56 then keeps ICEConnectionState "checking" and derives PeerConnectionState from it
// (updateConnectionState): DTLS and SCTP come up, the data channel opens, and the peer connection
// never says "connected". Here "connected" is sticky: a late "checking" does not undo it.
type ConnectionWatch struct {
	Connected chan struct{} // closed once ICE and DTLS are both connected
	Failed    chan struct{} // closed once ICE fails, disconnects or closes, or DTLS fails or closes

	mu            sync.Mutex
	iceUp, dtlsUp bool
	last          string
	connectOnce   sync.Once
	failOnce      sync.Once
	iceOnce       sync.Once
	hooks         ConnectionHooks
	pionConnected atomic.Bool // pion's PeerConnectionState said "connected" (what the race takes away)
}

// ConnectionHooks run once each, in a goroutine of their own (never under pion's locks).
type ConnectionHooks struct {
	ICEConnected func() // ICE connected (or completed)
	Connected    func() // ICE and DTLS connected, before Connected closes
}

// WatchConnection takes pc's ICE connection state, peer connection state and DTLS transport state
// handlers (pion keeps one of each: register no other).
func WatchConnection(pc *webrtc.PeerConnection, hooks ConnectionHooks) *ConnectionWatch {
	w := newConnectionWatch(hooks)
	pc.OnICEConnectionStateChange(w.ice)
	pc.SCTP().Transport().OnStateChange(w.dtls) // runs inside DTLSTransport.Start, its lock held
	pc.OnConnectionStateChange(func(state webrtc.PeerConnectionState) {
		if state == webrtc.PeerConnectionStateConnected {
			w.pionConnected.Store(true)
		}
	})
	return w
}

func newConnectionWatch(hooks ConnectionHooks) *ConnectionWatch {
	return &ConnectionWatch{Connected: make(chan struct{}), Failed: make(chan struct{}), last: "new", hooks: hooks}
}

func (w *ConnectionWatch) ice(state webrtc.ICEConnectionState) {
	switch state {
	case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
		if w.hooks.ICEConnected != nil {
			w.iceOnce.Do(func() { go w.hooks.ICEConnected() })
		}
		w.update("ice "+state.String(), func() { w.iceUp = true })
	case webrtc.ICEConnectionStateFailed, webrtc.ICEConnectionStateDisconnected, webrtc.ICEConnectionStateClosed:
		w.fail("ice " + state.String())
	}
}

func (w *ConnectionWatch) dtls(state webrtc.DTLSTransportState) {
	switch state {
	case webrtc.DTLSTransportStateConnected:
		w.update("dtls connected", func() { w.dtlsUp = true })
	case webrtc.DTLSTransportStateFailed, webrtc.DTLSTransportStateClosed:
		w.fail("dtls " + state.String())
	}
}

func (w *ConnectionWatch) update(what string, set func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	set()
	if w.iceUp && w.dtlsUp {
		w.last = "connected"
		w.connectOnce.Do(func() {
			go func() {
				if w.hooks.Connected != nil {
					w.hooks.Connected()
				}
				close(w.Connected)
			}()
		})
		return
	}
	w.last = what
}

func (w *ConnectionWatch) fail(what string) {
	w.mu.Lock()
	w.last = what
	w.mu.Unlock()
	w.failOnce.Do(func() { close(w.Failed) })
}

// IsConnected says whether the connection came up (it may have gone down since).
func (w *ConnectionWatch) IsConnected() bool {
	select {
	case <-w.Connected:
		return true
	default:
		return false
	}
}

// ICEConnected says whether ICE reported connected (DTLS may not have followed).
func (w *ConnectionWatch) ICEConnected() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.iceUp
}

// State is the last thing the watch saw: "connected", "ice disconnected", "dtls failed", ...
func (w *ConnectionWatch) State() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// PionMissedConnected says pion's own PeerConnectionState never said "connected" although ICE and
// DTLS did: the race this watch stands in for.
func (w *ConnectionWatch) PionMissedConnected() bool {
	return w.IsConnected() && !w.pionConnected.Load()
}
