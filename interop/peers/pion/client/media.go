package client

import (
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

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
}

// addMedia adds one audio and one video track, both sendrecv, to pc.
func addMedia(pc *webrtc.PeerConnection, ivfPath string) (*mediaLoop, error) {
	m := &mediaLoop{ivfPath: ivfPath, firstEcho: make(chan struct{}), stop: make(chan struct{})}
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
		go drainRTCP(sender)
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
	for {
		if _, _, err := remote.ReadRTP(); err != nil {
			return
		}
		m.echoed.Add(1)
		m.firstOnce.Do(func() { close(m.firstEcho) })
	}
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

func (m *mediaLoop) sendClipOnce() bool {
	file, err := os.Open(m.ivfPath)
	if err != nil {
		return false
	}
	defer file.Close()
	reader, header, err := ivfreader.NewWith(file)
	if err != nil || header.TimebaseDenominator == 0 {
		return false
	}
	frame := time.Second * time.Duration(header.TimebaseNumerator) / time.Duration(header.TimebaseDenominator)
	if frame <= 0 || frame > time.Second {
		frame = time.Second / 30
	}
	tick := time.NewTicker(frame)
	defer tick.Stop()
	for {
		data, _, err := reader.ParseNextFrame()
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return true
		}
		if err != nil {
			return false
		}
		select {
		case <-m.stop:
			return true
		case <-tick.C:
			_ = m.video.WriteSample(media.Sample{Data: data, Duration: frame})
		}
	}
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
