// Package server is the pion Echo Test server: one Session per offer, echoing RTP
// packets and data channel messages back to the client that sent them.
package server

import (
	"errors"
	"fmt"
	"log"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"
	"webrtcecho/pion/peer"
)

// gatherTimeout bounds ICE gathering; host candidates on one machine take milliseconds.
const gatherTimeout = 5 * time.Second

// connectDeadline releases a session that never connects (a client that left before
// ICE, an offer we cannot reach) instead of keeping it forever.
const connectDeadline = 30 * time.Second

// Session is one client's peer connection and its echo tracks.
type Session struct {
	id        int64
	pc        *webrtc.PeerConnection
	watch     *peer.Stopwatch
	conn      *peer.ConnectionWatch
	closeOnce sync.Once
	closed    chan struct{} // closed once pc.Close has returned
	onClose   func(*Session)
	// echoes maps each receiver to the track that sends its packets back.
	echoes map[*webrtc.RTPReceiver]*echoTrack
}

// echoTrack sends one remote track back. remoteSSRC is the client's sender, the
// target of PLIs we relay when the client asks us for a keyframe.
type echoTrack struct {
	local      *webrtc.TrackLocalStaticRTP
	sender     *webrtc.RTPSender
	remoteSSRC atomic.Uint32
}

// newSession answers offer and returns the session with its complete answer
// (every candidate inside: the Echo Test signals once, without trickle ICE).
func newSession(api *webrtc.API, id int64, offer webrtc.SessionDescription, onClose func(*Session)) (*Session, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{}) // no ICE servers: loopback only
	if err != nil {
		return nil, err
	}
	s := &Session{
		id: id, pc: pc, onClose: onClose, closed: make(chan struct{}),
		watch:  peer.NewStopwatch(fmt.Sprintf("session %d ", id)),
		echoes: map[*webrtc.RTPReceiver]*echoTrack{},
	}
	s.conn = peer.WatchConnection(pc, peer.ConnectionHooks{Connected: func() {
		s.watch.Mark("connected")
		peer.LogDTLSKeys(pc)
	}})
	go func() {
		select {
		case <-s.conn.Failed:
			s.Close(s.conn.State())
		case <-s.closed:
		}
	}()
	pc.OnDataChannel(echoDataChannel)

	if err := pc.SetRemoteDescription(offer); err != nil {
		s.Close("bad offer")
		return nil, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	if err := s.addEchoTracks(); err != nil {
		s.Close("no echo track")
		return nil, err
	}
	// Tracks are in place before OnTrack can fire: registering it now keeps the
	// echoes map read-only from here on.
	pc.OnTrack(s.onTrack)

	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		s.Close("answer failed")
		return nil, err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		s.Close("answer failed")
		return nil, err
	}
	select {
	case <-gathered:
	case <-time.After(gatherTimeout):
		s.Close("gathering timeout")
		return nil, errors.New("ICE gathering did not complete")
	}
	s.watch.Mark("answer")
	time.AfterFunc(connectDeadline, func() {
		if !s.conn.IsConnected() {
			s.Close(fmt.Sprintf("not connected within %s", connectDeadline))
		}
	})
	return s, nil
}

// LocalDescription is the answer sent back to the client.
func (s *Session) LocalDescription() *webrtc.SessionDescription { return s.pc.LocalDescription() }

// addEchoTracks gives every audio/video transceiver a local track before the answer
// is created, so the answer declares the SSRC the echo will come from. The track
// takes the first codec the client offered, the one a sender normally uses.
func (s *Session) addEchoTracks() error {
	for _, t := range s.pc.GetTransceivers() {
		if t.Sender() != nil || t.Receiver() == nil {
			continue
		}
		codec, ok := firstMediaCodec(t.Receiver().GetParameters().Codecs)
		if !ok {
			continue
		}
		kind := t.Kind().String()
		local, err := webrtc.NewTrackLocalStaticRTP(codec.RTPCodecCapability, "echo-"+kind+"-"+t.Mid(), "echo")
		if err != nil {
			return err
		}
		sender, err := s.pc.AddTrack(local)
		if err != nil {
			return err
		}
		for _, owner := range s.pc.GetTransceivers() {
			if owner.Sender() == sender {
				echo := &echoTrack{local: local, sender: sender}
				s.echoes[owner.Receiver()] = echo
				go s.relayKeyframeRequests(echo)
			}
		}
	}
	return nil
}

// firstMediaCodec skips retransmission and FEC formats, which carry no media of their own.
func firstMediaCodec(codecs []webrtc.RTPCodecParameters) (webrtc.RTPCodecParameters, bool) {
	for _, c := range codecs {
		mime := strings.ToLower(c.MimeType)
		if strings.HasSuffix(mime, "/rtx") || strings.HasSuffix(mime, "/red") ||
			strings.HasSuffix(mime, "/ulpfec") || strings.HasSuffix(mime, "/flexfec-03") {
			continue
		}
		return c, true
	}
	return webrtc.RTPCodecParameters{}, false
}

// onTrack echoes every packet of a remote track through its echo track, unchanged
// but for the SSRC and payload type the answer declared.
func (s *Session) onTrack(remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	echo := s.echoes[receiver]
	if echo == nil {
		log.Printf("session %d: no echo track for %s track, draining it", s.id, remote.Kind())
	} else {
		echo.remoteSSRC.Store(uint32(remote.SSRC()))
		if !strings.EqualFold(remote.Codec().MimeType, echo.local.Codec().MimeType) {
			log.Printf("session %d: client sends %s, echo track is %s", s.id, remote.Codec().MimeType, echo.local.Codec().MimeType)
		}
	}
	first := true
	for {
		packet, _, err := remote.ReadRTP()
		if err != nil {
			return
		}
		if first {
			s.watch.Mark("first_rtp_" + remote.Kind().String())
			first = false
		}
		if echo != nil {
			if err := echo.local.WriteRTP(packet); err != nil && !errors.Is(err, errClosedPipe) {
				return
			}
		}
	}
}

// relayKeyframeRequests turns the client's PLI/FIR on our echo into a PLI on its
// own sender: only the client's encoder can make the keyframe it is asking for.
// Reading RTCP also keeps the sender's interceptors (NACK, reports) running.
func (s *Session) relayKeyframeRequests(echo *echoTrack) {
	for {
		packets, _, err := echo.sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range packets {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if ssrc := echo.remoteSSRC.Load(); ssrc != 0 {
					_ = s.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
				}
			}
		}
	}
}

// echoDataChannel sends every message back on the channel it arrived on, text as
// text and binary as binary.
func echoDataChannel(dc *webrtc.DataChannel) {
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		if msg.IsString {
			_ = dc.SendText(string(msg.Data))
		} else {
			_ = dc.Send(msg.Data)
		}
	})
}

// Close releases the peer connection once, whatever asked first. It never blocks
// the caller: pion's Close waits for its goroutines, which may be the caller.
func (s *Session) Close(reason string) {
	s.closeOnce.Do(func() {
		log.Printf("session %d closed: %s", s.id, reason)
		go func() {
			_ = s.pc.Close()
			close(s.closed)
		}()
		if s.onClose != nil {
			s.onClose(s)
		}
	})
}
