package client

import (
	"crypto/rand"
	"math/big"

	"github.com/pion/webrtc/v3"
	"webrtcecho/pion/peer"
)

const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// openEchoChannel creates the test's data channel. Once it opens, it sends a short
// random string; the result channel gets nil when the same string comes back.
func openEchoChannel(pc *webrtc.PeerConnection, watch *peer.Stopwatch) (<-chan error, error) {
	dc, err := pc.CreateDataChannel("echo", nil)
	if err != nil {
		return nil, err
	}
	sent := randomString(5)
	result := make(chan error, 1)
	dc.OnOpen(func() {
		watch.Mark("dc_open")
		if err := dc.SendText(sent); err != nil {
			result <- fail(ReasonConnectionFailed, "data channel send: %v", err)
		}
	})
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		var outcome error
		if got := string(msg.Data); got != sent {
			outcome = fail(ReasonEchoMismatch, "sent %q, got %q", sent, got)
		}
		select {
		case result <- outcome:
		default: // only the first message counts
		}
	})
	return result, nil
}

func randomString(n int) string {
	out := make([]byte, n)
	for i := range out {
		k, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		out[i] = alphabet[k.Int64()]
	}
	return string(out)
}
