package client

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v3"
	"webrtcecho/pion/peer"
)

const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// messageSizeCap is the largest message the max-message-size sub-check sends, whatever the SDP allows.
const messageSizeCap = 256 * 1024

// echoChannel is the test's data channel: once it opens it sends a short random string;
// result gets nil when the same string comes back (the verdict), and every later message
// goes to rest, for the sub-checks.
type echoChannel struct {
	dc     *webrtc.DataChannel
	result chan error
	rest   chan webrtc.DataChannelMessage
	opened atomic.Bool
}

func openEchoChannel(pc *webrtc.PeerConnection, watch *peer.Stopwatch) (*echoChannel, error) {
	dc, err := pc.CreateDataChannel("echo", nil)
	if err != nil {
		return nil, err
	}
	c := &echoChannel{dc: dc, result: make(chan error, 1), rest: make(chan webrtc.DataChannelMessage, 16)}
	sent := randomString(5)
	var first atomic.Bool
	dc.OnOpen(func() {
		c.opened.Store(true)
		watch.Mark("dc_open")
		if err := dc.SendText(sent); err != nil {
			c.result <- fail(ReasonConnectionFailed, "data channel send: %v", err)
		}
	})
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		if first.Swap(true) {
			select {
			case c.rest <- msg:
			default: // more than the sub-checks sent: not theirs
			}
			return
		}
		var outcome error
		if got := string(msg.Data); got != sent {
			outcome = fail(ReasonEchoMismatch, "sent %q, got %q", sent, got)
		}
		c.result <- outcome
	})
	return c, nil
}

type dcProbe struct {
	name     string
	text     bool
	data     []byte
	describe string
}

// probe sends the data channel sub-checks after the string echo: a binary message of every
// byte value, an empty string, an empty binary message (RFC 8831 §8: PPID 56 and 57) and one
// of the largest size both sides allow (RFC 8841), each to come back the same.
func (c *echoChannel) probe(offer, answer string, limit time.Duration) {
	size, why := messageSizeToSend(offer, answer)
	every := make([]byte, 256)
	for i := range every {
		every[i] = byte(i)
	}
	large := make([]byte, size)
	_, _ = rand.Read(large)
	probes := []dcProbe{
		{"dc-binary", false, every, "a 256-byte binary message (every byte value)"},
		{"dc-empty-string", true, []byte{}, "an empty string"},
		{"dc-empty-binary", false, []byte{}, "an empty binary message"},
		{"max-message-size", false, large, fmt.Sprintf("a %d-byte binary message (%s)", size, why)},
	}
	unsent := map[string]string{}
	for _, p := range probes {
		var err error
		if p.text {
			err = c.dc.SendText(string(p.data))
		} else {
			err = c.dc.Send(p.data)
		}
		if err != nil {
			unsent[p.name] = err.Error()
		}
	}
	started := time.Now()
	deadline := time.After(limit)
	var received []webrtc.DataChannelMessage
collect:
	for len(received) < len(probes) {
		select {
		case msg := <-c.rest:
			received = append(received, msg)
		case <-deadline:
			break collect
		}
	}
	elapsed := time.Since(started).Milliseconds()
	same := func(m webrtc.DataChannelMessage, p dcProbe) bool { return m.IsString == p.text && bytes.Equal(m.Data, p.data) }
	matched := map[string]bool{}
	for _, p := range probes {
		for i, m := range received {
			if _, failed := unsent[p.name]; !failed && same(m, p) {
				matched[p.name] = true
				received = append(received[:i], received[i+1:]...)
				break
			}
		}
	}
	for _, p := range probes {
		switch {
		case unsent[p.name] != "":
			report(p.name, "fail", "%s could not be sent: %s", p.describe, unsent[p.name])
		case matched[p.name]:
			report(p.name, "pass", "%s came back the same (the probes took %d ms)", p.describe, elapsed)
		default:
			index := -1
			for i, m := range received {
				if len(m.Data) == len(p.data) {
					index = i
					break
				}
			}
			for i, m := range received {
				if index < 0 && m.IsString == p.text {
					index = i
				}
			}
			if index < 0 {
				report(p.name, "fail", "%s did not come back within %d ms", p.describe, limit.Milliseconds())
				continue
			}
			m := received[index]
			received = append(received[:index], received[index+1:]...)
			report(p.name, "fail", "%s came back as %s", p.describe, show(m))
		}
	}
}

func show(m webrtc.DataChannelMessage) string {
	if !m.IsString {
		return fmt.Sprintf("binary of %d bytes", len(m.Data))
	}
	text := string(m.Data)
	if len(text) > 60 {
		text = text[:60] + "…"
	}
	return fmt.Sprintf("text %q", text)
}

// messageSizeToSend is the smallest of the answer's and the offer's a=max-message-size (64 KiB
// where one has none, 0 for any) and our cap; pion 3.1.56 applies 64 KiB whatever the SDP says
// (sctptransport.go, updateMessageSize).
func messageSizeToSend(offer, answer string) (int, string) {
	type limit struct {
		who  string
		size int
	}
	var limits []limit
	if n, declared, ok := maxMessageSize(answer); ok {
		who := "answer"
		if !declared {
			who = "answer (none: 64 KiB)"
		}
		limits = append(limits, limit{who, n})
	}
	if n, declared, ok := maxMessageSize(offer); ok {
		who := "offer"
		if !declared {
			who = "offer (none: 64 KiB)"
		}
		limits = append(limits, limit{who, n})
	}
	limits = append(limits, limit{"our stack", 65536}, limit{"cap", messageSizeCap})
	size := messageSizeCap
	var parts []string
	for _, l := range limits {
		if l.size > 0 && l.size < size {
			size = l.size
		}
		v := fmt.Sprint(l.size)
		if l.size == 0 {
			v = "any"
		}
		parts = append(parts, l.who+" "+v)
	}
	return size, "the smallest of: " + strings.Join(parts, ", ")
}

func randomString(n int) string {
	out := make([]byte, n)
	for i := range out {
		k, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		out[i] = alphabet[k.Int64()]
	}
	return string(out)
}
