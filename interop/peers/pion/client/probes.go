package client

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
)

const (
	midURI         = "urn:ietf:params:rtp-hdrext:sdes:mid"
	pliBound       = 500 * time.Millisecond
	nackBound      = time.Second
	keyframeWait   = 1200 * time.Millisecond
	gapWait        = time.Second
	// libwebrtc's encoder ignores a keyframe request within 300 ms of the one before
	// (video/encoder_rtcp_feedback.cc, kMinKeyframeSendIntervalMs), its start included:
	// the PLI goes 400 ms after an echoed keyframe, still well before the clip's next one (1 s).
	afterKeyframe = 400 * time.Millisecond
	settle        = 1500 * time.Millisecond
	mediaProbeTime = 5 * time.Second // what the probes may take at most; with less left they are skipped
)

// probeMedia runs the media sub-checks of src/client/media-probes.ts while the media flows:
// pli-keyframe, nack (a packet held back by our interceptor), and mid-extension.
func (m *mediaLoop) probeMedia(pc *webrtc.PeerConnection, answer string, hold *holdBack) {
	video := mediaSection(answer, "video")
	m.probePLI(pc, video, hold)
	m.probeNACK(pc, video, hold)
	m.checkMid(answer)
}

// nextEcho waits up to d for an echoed packet of kind that matches.
func (m *mediaLoop) nextEcho(kind string, d time.Duration, matches func(*rtp.Packet) bool) *rtp.Packet {
	found := make(chan *rtp.Packet, 1)
	stop := m.onEcho(kind, func(p *rtp.Packet) {
		if matches(p) {
			select {
			case found <- p:
			default:
			}
		}
	})
	defer stop()
	select {
	case p := <-found:
		return p
	case <-time.After(d):
		return nil
	}
}

// lastVideo is the last echoed VP8 packet kept (not RTX: a server that answers RTX pads
// and retransmits on its own SSRC and sequence numbers, which pion hands over as video too).
func (m *mediaLoop) lastVideo(vp8 uint8) *rtp.Packet {
	m.mu.Lock()
	defer m.mu.Unlock()
	samples := m.samples["video"]
	for i := len(samples) - 1; i >= 0; i-- {
		if samples[i].PayloadType == vp8 {
			return samples[i]
		}
	}
	return nil
}

// payloadType is the payload type a section gives a codec, 0 without one.
func (s *section) payloadType(codec string) uint8 {
	if s == nil {
		return 0
	}
	for _, a := range s.attrs {
		if !strings.HasPrefix(a, "rtpmap:") {
			continue
		}
		fields := strings.Fields(strings.TrimPrefix(a, "rtpmap:"))
		if len(fields) == 2 && strings.EqualFold(strings.SplitN(fields[1], "/", 2)[0], codec) {
			pt, _ := strconv.Atoi(fields[0])
			return uint8(pt)
		}
	}
	return 0
}

func (m *mediaLoop) probePLI(pc *webrtc.PeerConnection, video *section, hold *holdBack) {
	if !video.negotiatesFeedback("VP8", "nack", "pli") {
		report("pli-keyframe", "n/a", "the answer does not negotiate a=rtcp-fb nack pli for VP8")
		return
	}
	// An echoed keyframe first, so the clip's own next one is a second away.
	// A re-encoding server's first second or so is its encoder starting: libwebrtc's echo sent
	// keyframes on its own then and left a PLI unanswered (seen here; a second later it answers
	// in ~30 ms). A packet-level echo has no encoder, so no wait.
	if !m.packetLevel(hold) {
		if wait := settle - time.Since(m.firstEchoAt()); wait > 0 {
			time.Sleep(wait)
		}
	}
	vp8 := video.payloadType("VP8")
	isKeyframe := func(p *rtp.Packet) bool { return p.PayloadType == vp8 && isKeyframeStart(p) }
	natural := m.nextEcho("video", keyframeWait, isKeyframe)
	if natural != nil {
		time.Sleep(afterKeyframe)
	}
	last := m.lastVideo(vp8)
	if last == nil {
		report("pli-keyframe", "fail", "no echoed video to ask a keyframe of")
		return
	}
	echoSSRC := last.SSRC
	before := m.keyframeRequests.Load()
	answered := make(chan time.Duration, 1)
	sent := time.Now()
	stop := m.onEcho("video", func(p *rtp.Packet) {
		if isKeyframe(p) {
			select {
			case answered <- time.Since(sent):
			default:
			}
		}
	})
	defer stop()
	if err := pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{SenderSSRC: uint32(m.videoSSRC()), MediaSSRC: echoSSRC}}); err != nil {
		report("pli-keyframe", "fail", "could not send the PLI: %v", err)
		return
	}
	context := "sent 400 ms after an echoed keyframe"
	if natural == nil {
		context = fmt.Sprintf("no echoed keyframe within %d ms before it", keyframeWait.Milliseconds())
	}
	relayed := func() string {
		if m.keyframeRequests.Load() > before {
			return "a keyframe request reached our sender (relayed)"
		}
		return "no keyframe request reached our sender"
	}
	select {
	case d := <-answered:
		report("pli-keyframe", "pass", "a keyframe came back %d ms after the PLI about SSRC %d (%s; %s)", d.Milliseconds(), echoSSRC, context, relayed())
	case <-time.After(pliBound):
		report("pli-keyframe", "fail", "no keyframe within %d ms of a PLI from SSRC %d about SSRC %d (%s; %s)", pliBound.Milliseconds(), m.videoSSRC(), echoSSRC, context, relayed())
	}
}

func (m *mediaLoop) videoSSRC() webrtc.SSRC {
	if m.videoSender == nil {
		return 0
	}
	params := m.videoSender.GetParameters()
	if len(params.Encodings) == 0 {
		return 0
	}
	return params.Encodings[0].SSRC
}

func (m *mediaLoop) probeNACK(pc *webrtc.PeerConnection, video *section, hold *holdBack) {
	if !video.negotiatesFeedback("VP8", "nack", "") {
		report("nack", "n/a", "the answer does not negotiate a=rtcp-fb nack for VP8")
		return
	}
	vp8 := video.payloadType("VP8")
	if !m.packetLevel(hold) {
		report("nack", "n/a", "the server re-encodes (no echoed packet is one of ours): a packet held back never shows as a gap in its stream")
		return
	}
	var held uint16
	select {
	case held = <-hold.arm():
	case <-time.After(gapWait):
		report("nack", "fail", "the sender sent nothing to hold back within %d ms", gapWait.Milliseconds())
		return
	}
	back := make(chan time.Time, 1)
	stop := m.onEcho("video", func(p *rtp.Packet) {
		if p.PayloadType == vp8 && p.SequenceNumber == held {
			select {
			case back <- time.Now():
			default:
			}
		}
	})
	defer stop()
	// The gap shows once a later packet comes back (pion's own NACK generator may ask first).
	later := m.nextEcho("video", gapWait, func(p *rtp.Packet) bool { return p.PayloadType == vp8 && p.SequenceNumber-held < 0x8000 })
	if later == nil {
		report("nack", "fail", "no echoed packet after the held-back %d within %d ms", held, gapWait.Milliseconds())
		return
	}
	echoSSRC := later.SSRC
	sent := time.Now()
	if later.SequenceNumber != held {
		nack := &rtcp.TransportLayerNack{SenderSSRC: uint32(m.videoSSRC()), MediaSSRC: echoSSRC, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{held})}
		if err := pc.WriteRTCP([]rtcp.Packet{nack}); err != nil {
			report("nack", "fail", "could not send the NACK: %v", err)
			return
		}
	}
	select {
	case at := <-back:
		ms := at.Sub(sent).Milliseconds()
		if ms < 0 {
			ms = 0
		}
		report("nack", "pass", "packet %d, held back, came back %d ms after the NACK about SSRC %d (pion's NACK responder resent it)", held, ms, echoSSRC)
	case <-time.After(nackBound):
		report("nack", "fail", "packet %d not resent within %d ms of a NACK about SSRC %d", held, nackBound.Milliseconds(), echoSSRC)
	}
}

// packetLevel: some echoed video packet is one we sent (sequence number and timestamp): the server echoes packets, it does not re-encode.
func (m *mediaLoop) packetLevel(hold *holdBack) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.samples["video"] {
		if hold.ours(p.SequenceNumber, p.Timestamp) {
			return true
		}
	}
	return false
}

// checkMid: every echoed packet kept carries its section's mid, where the answer negotiated it.
func (m *mediaLoop) checkMid(answer string) {
	var results, failures []string
	for _, kind := range []string{"audio", "video"} {
		s := mediaSection(answer, kind)
		id := s.extensionID(midURI)
		if id == 0 {
			results = append(results, kind+": not negotiated")
			continue
		}
		m.mu.Lock()
		packets := append([]*rtp.Packet{}, m.samples[kind]...)
		m.mu.Unlock()
		if len(packets) == 0 {
			failures = append(failures, kind+": no packet echoed to look at")
			continue
		}
		carrying, without := 0, 0
		wrong := map[string]int{}
		for _, p := range packets {
			switch value := p.GetExtension(uint8(id)); {
			case value == nil:
				without++
			case string(value) == s.mid:
				carrying++
			default:
				wrong[string(value)]++
			}
		}
		// A sender may stop writing the mid once the receiver knows the SSRC (libwebrtc's
		// MidOracle does): packets without it are fine, one with another mid is not.
		detail := fmt.Sprintf("%s: %d of %d echoed packets carry mid %q (id %d)", kind, carrying, len(packets), s.mid, id)
		for value, n := range wrong {
			detail += fmt.Sprintf(", %d with mid %q", n, value)
		}
		if without > 0 {
			detail += fmt.Sprintf(", %d without it", without)
		}
		if carrying > 0 && len(wrong) == 0 {
			results = append(results, detail)
		} else {
			failures = append(failures, detail)
		}
	}
	switch {
	case len(failures) > 0:
		report("mid-extension", "fail", "%s", strings.Join(append(failures, results...), "; "))
	case len(results) == 2 && strings.HasSuffix(results[0], "not negotiated") && strings.HasSuffix(results[1], "not negotiated"):
		report("mid-extension", "n/a", "the answer negotiates no %s (pion 3.1.56 writes no mid, so we offer none)", midURI)
	default:
		report("mid-extension", "pass", "%s", strings.Join(results, "; "))
	}
}

// isKeyframeStart: the first packet of a VP8 key frame (RFC 7741 §4.2-4.3: S=1, PID=0, P=0).
func isKeyframeStart(p *rtp.Packet) bool {
	b := p.Payload
	if len(b) < 1 || b[0]&0x10 == 0 || b[0]&0x07 != 0 {
		return false
	}
	offset := 1
	if b[0]&0x80 != 0 {
		if len(b) < 2 {
			return false
		}
		ext := b[1]
		offset = 2
		if ext&0x80 != 0 {
			if len(b) <= offset {
				return false
			}
			if b[offset]&0x80 != 0 {
				offset += 2
			} else {
				offset++
			}
		}
		if ext&0x40 != 0 {
			offset++
		}
		if ext&0x30 != 0 {
			offset++
		}
	}
	return len(b) > offset && b[offset]&0x01 == 0
}
