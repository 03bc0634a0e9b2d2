package client

import (
	"strings"
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// holdBack is an interceptor nearest the wire on our video stream: it remembers the
// sequence number and timestamp of everything sent (to tell our own packets in the echo),
// and, once armed, drops the next packet as if the network lost it. pion's NACK responder,
// further out in the chain, has kept that packet already, so a NACK for it gets it sent:
// then it passes (each sequence number is dropped once).
type holdBack struct {
	interceptor.NoOp
	mu      sync.Mutex
	armed   chan uint16 // gets the held sequence number; nil when not armed
	held    map[uint16]bool
	sent    map[uint16]uint32 // sequence number -> timestamp of the video we sent
	videoSS uint32
}

type holdBackFactory struct{ h *holdBack }

func newHoldBack() *holdBack {
	return &holdBack{held: map[uint16]bool{}, sent: map[uint16]uint32{}}
}

func (f holdBackFactory) NewInterceptor(string) (interceptor.Interceptor, error) { return f.h, nil }

// arm makes the next video packet the held one; its sequence number comes on the channel.
func (h *holdBack) arm() <-chan uint16 {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.armed = make(chan uint16, 1)
	return h.armed
}

// ours says whether an echoed packet is one we sent (same sequence number and timestamp).
func (h *holdBack) ours(seq uint16, ts uint32) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	sent, ok := h.sent[seq]
	return ok && sent == ts
}

func (h *holdBack) BindLocalStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	if !strings.HasPrefix(strings.ToLower(info.MimeType), "video/") {
		return writer
	}
	h.mu.Lock()
	h.videoSS = info.SSRC
	h.mu.Unlock()
	return interceptor.RTPWriterFunc(func(header *rtp.Header, payload []byte, attributes interceptor.Attributes) (int, error) {
		h.mu.Lock()
		h.sent[header.SequenceNumber] = header.Timestamp
		if h.armed != nil && !h.held[header.SequenceNumber] {
			h.held[header.SequenceNumber] = true
			h.armed <- header.SequenceNumber
			h.armed = nil
			h.mu.Unlock()
			return header.MarshalSize() + len(payload), nil // "sent", and lost on the way
		}
		h.mu.Unlock()
		return writer.Write(header, payload, attributes)
	})
}
