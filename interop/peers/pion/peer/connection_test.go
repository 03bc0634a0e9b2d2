package peer

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"
)

func waitClosed(t *testing.T, ch chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(2 * time.Second):
		t.Fatalf("%s did not close", what)
	}
}

// The order pion/ice 2.3.1 can deliver under load (one goroutine per state): "checking" after
// "connected". pion's own PeerConnectionState stays short of "connected" then; the watch does not.
func TestConnectedSurvivesALateChecking(t *testing.T) {
	var iceHooks, connectedHooks atomic.Int32
	w := newConnectionWatch(ConnectionHooks{
		ICEConnected: func() { iceHooks.Add(1) },
		Connected:    func() { connectedHooks.Add(1) },
	})
	w.ice(webrtc.ICEConnectionStateConnected)
	w.ice(webrtc.ICEConnectionStateChecking)
	if w.IsConnected() {
		t.Fatal("connected before DTLS")
	}
	w.dtls(webrtc.DTLSTransportStateConnected)
	waitClosed(t, w.Connected, "Connected")
	w.ice(webrtc.ICEConnectionStateConnected) // a repeat runs no hook again
	time.Sleep(50 * time.Millisecond)
	if got := w.State(); got != "connected" {
		t.Fatalf("state %q", got)
	}
	if iceHooks.Load() != 1 || connectedHooks.Load() != 1 {
		t.Fatalf("hooks ran %d (ICE) and %d (connected) times, not once each", iceHooks.Load(), connectedHooks.Load())
	}
	select {
	case <-w.Failed:
		t.Fatal("failed")
	default:
	}
}

func TestDTLSFirstThenICE(t *testing.T) {
	w := newConnectionWatch(ConnectionHooks{})
	w.dtls(webrtc.DTLSTransportStateConnecting)
	w.dtls(webrtc.DTLSTransportStateConnected)
	if w.IsConnected() {
		t.Fatal("connected before ICE")
	}
	w.ice(webrtc.ICEConnectionStateConnected)
	waitClosed(t, w.Connected, "Connected")
}

func TestFailures(t *testing.T) {
	for _, c := range []struct {
		name  string
		event func(*ConnectionWatch)
		state string
	}{
		{"ice disconnected", func(w *ConnectionWatch) { w.ice(webrtc.ICEConnectionStateDisconnected) }, "ice disconnected"},
		{"ice failed", func(w *ConnectionWatch) { w.ice(webrtc.ICEConnectionStateFailed) }, "ice failed"},
		{"dtls failed", func(w *ConnectionWatch) { w.dtls(webrtc.DTLSTransportStateFailed) }, "dtls failed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newConnectionWatch(ConnectionHooks{})
			w.ice(webrtc.ICEConnectionStateChecking)
			c.event(w)
			waitClosed(t, w.Failed, "Failed")
			c.event(w) // twice: closes once
			if w.State() != c.state || w.IsConnected() {
				t.Fatalf("state %q, connected %v", w.State(), w.IsConnected())
			}
		})
	}
}
