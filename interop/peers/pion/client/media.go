package client

import (
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
	"github.com/pion/webrtc/v3/pkg/media"
	"github.com/pion/webrtc/v3/pkg/media/ivfreader"
)

// opusSilence is one 20 ms Opus frame of silence (TOC 0xf8: CELT, 20 ms), so even a
// server that decodes audio gets something it can decode.
var opusSilence = []byte{0xf8, 0xff, 0xfe}

// syntheticFrame stands in for VP8 when no clip is found: packet-level echo
// servers echo it, decoding servers drop it.
var syntheticFrame = make([]byte, 600)

// mediaLoop sends audio and video to the server and counts what comes back.
type mediaLoop struct {
	audio, video *webrtc.TrackLocalStaticSample
	ivfPath      string
	echoed       atomic.Int64
	firstEcho    chan struct{}
	firstOnce    sync.Once
	stop         chan struct{}
	stopOnce     sync.Once
	// A PLI/FIR about our video: the next frame sent is the clip's last keyframe again.
	keyframeWanted   atomic.Bool
	keyframeRequests atomic.Int64
	videoSender      *webrtc.RTPSender
	// Every echoed packet goes to the listeners of its kind (the sub-check probes).
	mu        sync.Mutex
	listeners map[string][]func(*rtp.Packet)
	samples   map[string][]*rtp.Packet
	firstAt   time.Time
}

func (m *mediaLoop) firstEchoAt() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.firstAt
}

// addMedia adds one audio and one video track, both sendrecv, to pc.
func addMedia(pc *webrtc.PeerConnection, ivfPath string) (*mediaLoop, error) {
	m := &mediaLoop{ivfPath: ivfPath, firstEcho: make(chan struct{}), stop: make(chan struct{}), listeners: map[string][]func(*rtp.Packet){}, samples: map[string][]*rtp.Packet{}}
	var err error
	if m.audio, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "echo-client"); err != nil {
		return nil, err
	}
	if m.video, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "echo-client"); err != nil {
		return nil, err
	}
	for _, track := range []webrtc.TrackLocal{m.audio, m.video} {
		sender, err := pc.AddTrack(track)
		if err != nil {
			return nil, err
		}
		if track == m.video {
			m.videoSender = sender
			go m.answerKeyframeRequests(sender)
		} else {
			go drainRTCP(sender)
		}
	}
	pc.OnTrack(m.countEchoes)
	return m, nil
}

// start begins sending; samples written before DTLS is up would be dropped.
func (m *mediaLoop) start() {
	go m.sendAudio()
	go m.sendVideo()
}

func (m *mediaLoop) close() { m.stopOnce.Do(func() { close(m.stop) }) }

func (m *mediaLoop) countEchoes(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	kind := remote.Kind().String()
	for {
		packet, _, err := remote.ReadRTP()
		if err != nil {
			return
		}
		m.echoed.Add(1)
		m.firstOnce.Do(func() { close(m.firstEcho) })
		m.mu.Lock()
		if m.firstAt.IsZero() {
			m.firstAt = time.Now()
		}
		if len(m.samples[kind]) < 200 {
			m.samples[kind] = append(m.samples[kind], packet)
		}
		listeners := append([]func(*rtp.Packet){}, m.listeners[kind]...)
		m.mu.Unlock()
		for _, listener := range listeners {
			listener(packet)
		}
	}
}

// onEcho calls listener with every echoed packet of kind from now on, until the returned func is called.
func (m *mediaLoop) onEcho(kind string, listener func(*rtp.Packet)) func() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.listeners[kind] = append(m.listeners[kind], listener)
	index := len(m.listeners[kind]) - 1
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.listeners[kind][index] = func(*rtp.Packet) {}
	}
}

// answerKeyframeRequests reads the video sender's RTCP (so its interceptors run: the NACK
// responder) and turns a PLI or FIR about our SSRC into a keyframe next.
func (m *mediaLoop) answerKeyframeRequests(sender *webrtc.RTPSender) {
	for {
		packets, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, packet := range packets {
			switch packet.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				m.requestKeyframe()
			}
		}
	}
}

func (m *mediaLoop) requestKeyframe() {
	m.keyframeRequests.Add(1)
	m.keyframeWanted.Store(true)
}

func (m *mediaLoop) sendAudio() {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
			_ = m.audio.WriteSample(media.Sample{Data: opusSilence, Duration: 20 * time.Millisecond})
		}
	}
}

// sendVideo loops the VP8 clip at its own frame rate, or sends synthetic frames
// at 30 fps when there is no clip.
func (m *mediaLoop) sendVideo() {
	for {
		if m.ivfPath == "" || !m.sendClipOnce() {
			m.sendSynthetic()
			return
		}
		select {
		case <-m.stop:
			return
		default:
		}
	}
}

// sendClipOnce plays the clip once at its frame rate. A keyframe request makes it go back to
// the last keyframe it passed (a clip cannot encode a new one), so the next frame is a keyframe.
func (m *mediaLoop) sendClipOnce() bool {
	frames, frame, ok := readClip(m.ivfPath)
	if !ok {
		return false
	}
	tick := time.NewTicker(frame)
	defer tick.Stop()
	for i := 0; i < len(frames); i++ {
		if m.keyframeWanted.Swap(false) {
			for i > 0 && !isVP8Keyframe(frames[i]) {
				i--
			}
		}
		select {
		case <-m.stop:
			return true
		case <-tick.C:
			_ = m.video.WriteSample(media.Sample{Data: frames[i], Duration: frame})
		}
	}
	return true
}

// readClip reads every frame of an IVF file and its frame duration.
func readClip(path string) ([][]byte, time.Duration, bool) {
	file, err := os.Open(path)
	if err != nil {
		return nil, 0, false
	}
	defer file.Close()
	reader, header, err := ivfreader.NewWith(file)
	if err != nil || header.TimebaseDenominator == 0 {
		return nil, 0, false
	}
	frame := time.Second * time.Duration(header.TimebaseNumerator) / time.Duration(header.TimebaseDenominator)
	if frame <= 0 || frame > time.Second {
		frame = time.Second / 30
	}
	var frames [][]byte
	for {
		data, _, err := reader.ParseNextFrame()
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return frames, frame, len(frames) > 0
		}
		if err != nil {
			return nil, 0, false
		}
		frames = append(frames, data)
	}
}

// isVP8Keyframe: bit 0 of a VP8 frame's first byte is 0 on a key frame (RFC 6386 §9.1).
func isVP8Keyframe(frame []byte) bool {
	return len(frame) > 0 && frame[0]&0x01 == 0
}

func (m *mediaLoop) sendSynthetic() {
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
			_ = m.video.WriteSample(media.Sample{Data: syntheticFrame, Duration: time.Second / 30})
		}
	}
}

// drainRTCP reads the sender's RTCP so its interceptors (NACK, reports) run.
func drainRTCP(sender *webrtc.RTPSender) {
	for {
		if _, _, err := sender.ReadRTCP(); err != nil {
			return
		}
	}
}

// findClip picks the VP8 clip to send: the one asked for, else the first VP8 .ivf
// in the repository's testdata/ (found from the binary's place or the working
// directory), else the sample setup/pion.sh may have made beside the binary.
func findClip(asked string) string {
	if asked != "" {
		return asked
	}
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		binDir := filepath.Dir(exe)
		dirs = append(dirs, filepath.Join(binDir, "..", "..", "..", "..", "testdata"), binDir)
	}
	dirs = append(dirs, "testdata")
	for _, dir := range dirs {
		matches, _ := filepath.Glob(filepath.Join(dir, "*.ivf"))
		for _, path := range matches {
			if isVP8Clip(path) {
				return path
			}
		}
	}
	return ""
}

func isVP8Clip(path string) bool {
	file, err := os.Open(path)
	if err != nil {
		return false
	}
	defer file.Close()
	_, header, err := ivfreader.NewWith(file)
	return err == nil && header.FourCC == "VP80"
}
