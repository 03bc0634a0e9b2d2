package load

import (
	"errors"
	"sync"

	"github.com/pion/webrtc/v3"
)

// rawTrack is a local video track that sends the bench's own RTP packets as they are: the
// bench writes SSRC and payload type itself, so nothing is parsed or copied on the way to
// SRTP (TrackLocalStaticRTP would unmarshal and rewrite every packet).
type rawTrack struct {
	mu     sync.RWMutex
	writer webrtc.TrackLocalWriter
	local  webrtc.SSRC
	pt     webrtc.PayloadType
}

var errNotBound = errors.New("track not bound yet")

func (t *rawTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, codec := range ctx.CodecParameters() {
		if codec.MimeType == webrtc.MimeTypeVP8 {
			t.mu.Lock()
			t.writer, t.local, t.pt = ctx.WriteStream(), ctx.SSRC(), codec.PayloadType
			t.mu.Unlock()
			return codec, nil
		}
	}
	return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
}

func (t *rawTrack) Unbind(webrtc.TrackLocalContext) error {
	t.mu.Lock()
	t.writer = nil
	t.mu.Unlock()
	return nil
}

func (t *rawTrack) ID() string                { return "video" }
func (t *rawTrack) RID() string               { return "" }
func (t *rawTrack) StreamID() string          { return "bench" }
func (t *rawTrack) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeVideo }

func (t *rawTrack) ssrc() uint32 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return uint32(t.local)
}

func (t *rawTrack) payloadType() uint8 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.pt == 0 {
		return videoPayloadType
	}
	return uint8(t.pt)
}

// write sends one complete RTP packet (the SRTP layer encrypts a copy).
func (t *rawTrack) write(packet []byte) (int, error) {
	t.mu.RLock()
	w := t.writer
	t.mu.RUnlock()
	if w == nil {
		return 0, errNotBound
	}
	return w.Write(packet)
}
