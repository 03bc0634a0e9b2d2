package load

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v2"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"

	"webrtcecho/pion/peer"
)

// Payload type and codec the bench offers: one sendrecv VP8 section, as the Node worker does.
const videoPayloadType = 96

// rtpMagic starts every bench payload ("BENC"), then the 32-bit packet index (bench-rtp.ts).
const rtpMagic = 0x42454e43

const benchHeader = 12

// receiveBuffer is the kernel receive buffer of the worker's UDP sockets (Linux caps it at
// net.core.rmem_max, 4 MiB on Debian): with the 208 KiB default, a few milliseconds without the
// CPU on a busy machine overflowed it and the loss was the generator's.
const receiveBuffer = 4 << 20

// NewAPI is pion with VP8 only and no interceptors: nothing runs per packet but SRTP. Every
// session shares one UDP socket per local address (pion's ICE UDP mux) with a large receive
// buffer, unless PION_LOAD_NO_MUX is set (then each session has its own socket, 208 KiB).
//
// loopbackOnly (a server on this machine, at a loopback URL): gather 127.0.0.1 only, so no check,
// media or DTLS of the load goes to this machine's other addresses.
func NewAPI(loopbackOnly bool) (*webrtc.API, error) {
	media := &webrtc.MediaEngine{}
	feedback := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}
	if err := media.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: feedback},
		PayloadType:        videoPayloadType,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	settings := webrtc.SettingEngine{}
	settings.SetIncludeLoopbackCandidate(true)
	settings.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	if loopbackOnly {
		settings.SetIPFilter(peer.IsLoopbackIP)
	}
	if os.Getenv("PION_LOAD_NO_MUX") == "" {
		muxOptions := []ice.UDPMuxFromPortOption{
			ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4),
			ice.UDPMuxFromPortWithLoopback(),
			ice.UDPMuxFromPortWithReadBufferSize(receiveBuffer),
			ice.UDPMuxFromPortWithWriteBufferSize(receiveBuffer),
		}
		if loopbackOnly {
			muxOptions = append(muxOptions, ice.UDPMuxFromPortWithIPFilter(peer.IsLoopbackIP))
		}
		mux, err := ice.NewMultiUDPMuxFromPort(0, muxOptions...)
		if err != nil {
			return nil, err
		}
		settings.SetICEUDPMux(mux)
	}
	// Otherwise every interface, as pion's own client gathers (peer.NewAPI): with loopback alone,
	// servers that leave loopback out of their candidates took ~1 s to connect.
	return webrtc.NewAPI(webrtc.WithMediaEngine(media), webrtc.WithSettingEngine(settings)), nil
}

// httpClient keeps connections to the server alive between offers, as fetch does in Node.
var httpClient = &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}}

// failure is a session error with a ClientFailureReason (src/client/client-error.ts).
type failure struct {
	reason, message string
}

func (f *failure) Error() string { return f.reason + ": " + f.message }

func fail(reason, format string, args ...any) *failure {
	return &failure{reason: reason, message: fmt.Sprintf(format, args...)}
}

// stopwatch records each step once, in ms since the session started, to 0.1 ms.
type stopwatch struct {
	start time.Time
	mu    sync.Mutex
	marks Timings
}

func newStopwatch() *stopwatch { return &stopwatch{start: time.Now(), marks: Timings{}} }

func (s *stopwatch) mark(step string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.marks[step]; !ok {
		s.marks[step] = math.Round(float64(time.Since(s.start).Microseconds())/100) / 10
	}
}

func (s *stopwatch) timings() Timings {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(Timings, len(s.marks))
	for k, v := range s.marks {
		out[k] = v
	}
	return out
}

// Session is one open client peer: its video leg (when offered) and its data channel (when offered).
type Session struct {
	pc      *webrtc.PeerConnection
	video   *rawTrack
	channel *webrtc.DataChannel
	// onRTP receives every RTP packet of the echo; swapped by whoever is measuring.
	onRTP     atomic.Value // func([]byte)
	onMessage atomic.Value // func(webrtc.DataChannelMessage)
	// nextIndex is the index of the next bench packet (SRTP drops a sequence number seen before).
	nextIndex uint32
	closeOnce sync.Once
}

func (s *Session) setOnRTP(f func([]byte))                        { s.onRTP.Store(f) }
func (s *Session) setOnMessage(f func(webrtc.DataChannelMessage)) { s.onMessage.Store(f) }

// Close sends an RTCP BYE for the video source (the server then releases the session at once,
// as it does for our Node clients) and closes the peer connection.
func (s *Session) Close() {
	s.closeOnce.Do(func() {
		if s.video != nil {
			if ssrc := s.video.ssrc(); ssrc != 0 {
				_ = s.pc.WriteRTCP([]rtcp.Packet{&rtcp.Goodbye{Sources: []uint32{ssrc}}})
			}
		}
		_ = s.pc.Close()
	})
}

type sessionDescription struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

// openSession offers, POSTs, connects, opens the channel and waits for the first echo, as
// src/bench/worker/bench-session.ts does; on failure the peer is closed.
func openSession(api *webrtc.API, plan SessionPlan) (*Session, SessionRecord) {
	watch := newStopwatch()
	timeout := time.Duration(plan.TimeoutMs) * time.Millisecond
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s, err := connect(ctx, api, plan, watch)
	if err != nil {
		if s != nil {
			s.Close()
		}
		var f *failure
		if !errors.As(err, &f) {
			f = fail("engine-error", "%v", err)
		}
		return nil, SessionRecord{OK: false, Timings: watch.timings(), Reason: f.reason, Message: f.message}
	}
	return s, SessionRecord{OK: true, Timings: watch.timings()}
}

func connect(ctx context.Context, api *webrtc.API, plan SessionPlan, watch *stopwatch) (*Session, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fail("engine-error", "peer connection: %v", err)
	}
	s := &Session{pc: pc}
	s.setOnRTP(func([]byte) {})
	s.setOnMessage(func(webrtc.DataChannelMessage) {})

	connection := peer.WatchConnection(pc, peer.ConnectionHooks{
		ICEConnected: func() { watch.mark("iceConnected") },
		Connected: func() {
			watch.mark("iceConnected") // where ICE's own event comes later
			watch.mark("connected")
		},
	})

	if plan.Video || !plan.Channel {
		s.video = &rawTrack{}
		sender, err := pc.AddTrack(s.video)
		if err != nil {
			return s, fail("engine-error", "video track: %v", err)
		}
		go drainRTCP(sender)
		pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			buf := make([]byte, 1600)
			for {
				n, _, err := remote.Read(buf)
				if err != nil {
					return
				}
				s.onRTP.Load().(func([]byte))(buf[:n])
			}
		})
	}
	channelOpen := make(chan struct{})
	if plan.Channel {
		dc, err := pc.CreateDataChannel("bench", nil)
		if err != nil {
			return s, fail("engine-error", "data channel: %v", err)
		}
		s.channel = dc
		dc.OnOpen(func() { close(channelOpen) })
		dc.OnMessage(func(m webrtc.DataChannelMessage) { s.onMessage.Load().(func(webrtc.DataChannelMessage))(m) })
	}

	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return s, fail("engine-error", "create offer: %v", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return s, fail("engine-error", "set offer: %v", err)
	}
	select {
	case <-gathered:
	case <-time.After(2 * time.Second):
	case <-ctx.Done():
		return s, fail("timeout", "waiting for ICE gathering")
	}
	watch.mark("offerReady")

	answer, err := postOffer(ctx, plan.URL, pc.LocalDescription().SDP)
	if err != nil {
		return s, err
	}
	watch.mark("answerReceived")
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return s, fail("answer-rejected", "the answer was refused: %v", err)
	}
	select {
	case <-connection.Connected:
	case <-connection.Failed:
		reason := "connection-failed"
		if connection.State() == "ice failed" {
			reason = "ice-failed"
		}
		return s, fail(reason, "the connection failed (%s)", connection.State())
	case <-ctx.Done():
		return s, fail("timeout", "waiting for the connection")
	}

	if plan.Channel {
		select {
		case <-channelOpen:
		case <-ctx.Done():
			return s, fail("timeout", "waiting for the data channel to open")
		}
		watch.mark("channelOpen")
		if plan.FirstEcho {
			echoed := make(chan struct{})
			var once sync.Once
			s.setOnMessage(func(webrtc.DataChannelMessage) { once.Do(func() { close(echoed) }) })
			if err := s.channel.SendText("ping"); err != nil {
				return s, fail("connection-failed", "data channel send: %v", err)
			}
			select {
			case <-echoed:
			case <-ctx.Done():
				return s, fail("timeout", "waiting for the echoed message")
			}
			s.setOnMessage(func(webrtc.DataChannelMessage) {})
			watch.mark("firstEcho")
		}
	} else if plan.FirstEcho {
		if err := s.firstRTPEcho(ctx); err != nil {
			return s, err
		}
		watch.mark("firstEcho")
	}
	return s, nil
}

// firstRTPEcho sends a small bench packet every 10 ms until one comes back.
func (s *Session) firstRTPEcho(ctx context.Context) error {
	echoed := make(chan struct{})
	var once sync.Once
	s.setOnRTP(func(p []byte) {
		if benchIndexOf(p) >= 0 {
			once.Do(func() { close(echoed) })
		}
	})
	defer s.setOnRTP(func([]byte) {})
	packet := make([]byte, benchHeader+64)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		writeBenchRTP(packet, s.video.payloadType(), s.video.ssrc(), s.nextIndex, time.Now())
		s.nextIndex++
		_, _ = s.video.write(packet)
		select {
		case <-echoed:
			return nil
		case <-ctx.Done():
			return fail("timeout", "waiting for echoed RTP")
		case <-tick.C:
		}
	}
}

func postOffer(ctx context.Context, url, sdp string) (string, error) {
	body, _ := json.Marshal(sessionDescription{Type: "offer", SDP: sdp})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "", fail("engine-error", "request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := httpClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", fail("timeout", "waiting for the answer")
		}
		return "", fail("signaling-unreachable", "cannot reach %s: %v", url, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return "", fail("signaling-unreachable", "reading the answer: %v", err)
	}
	if res.StatusCode/100 != 2 {
		return "", fail("signaling-http-error", "server answered HTTP %d: %s", res.StatusCode, strings.Join(strings.Fields(string(raw)), " "))
	}
	var answer sessionDescription
	if err := json.Unmarshal(raw, &answer); err != nil || answer.Type != "answer" || !strings.HasPrefix(answer.SDP, "v=0") {
		return "", fail("signaling-bad-answer", "server's response is not an answer")
	}
	return answer.SDP, nil
}

func drainRTCP(sender *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := sender.Read(buf); err != nil {
			return
		}
	}
}

// writeBenchRTP writes a bench packet's header and index in place (bench-rtp.ts): sequence
// number = index mod 2^16, the timestamp of the send time on the 90 kHz clock.
func writeBenchRTP(p []byte, payloadType uint8, ssrc uint32, index uint32, at time.Time) {
	p[0] = 0x80
	p[1] = payloadType & 0x7f
	binary.BigEndian.PutUint16(p[2:], uint16(index))
	binary.BigEndian.PutUint32(p[4:], rtpClock(at))
	binary.BigEndian.PutUint32(p[8:], ssrc)
	binary.BigEndian.PutUint32(p[12:], rtpMagic)
	binary.BigEndian.PutUint32(p[16:], index)
}

var epoch = time.Now()

// rtpClock is the 90 kHz media clock of a send time, as a real sender stamps its packets.
func rtpClock(at time.Time) uint32 { return uint32(at.Sub(epoch).Microseconds() * 9 / 100) }

// benchIndexOf reads the index of a bench packet, -1 for anything else; it skips CSRCs and
// a header extension a server may have added (RFC 3550 §5.3.1).
func benchIndexOf(p []byte) int64 {
	if len(p) < 12 {
		return -1
	}
	at := 12 + 4*int(p[0]&0x0f)
	if p[0]&0x10 != 0 {
		if len(p) < at+4 {
			return -1
		}
		at += 4 + 4*int(binary.BigEndian.Uint16(p[at+2:]))
	}
	if len(p) < at+8 || binary.BigEndian.Uint32(p[at:]) != rtpMagic {
		return -1
	}
	return int64(binary.BigEndian.Uint32(p[at+4:]))
}
