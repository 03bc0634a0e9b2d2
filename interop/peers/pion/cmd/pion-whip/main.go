// pion-whip is a plain WHIP endpoint (RFC 9725) on pion, written the way a small ingest
// server is: POST /whip with application/sdp answers 201 with the answer and a Location,
// DELETE on it answers 200 and closes the session, OPTIONS and GET answer 200, PATCH is 405
// (no trickle, no ICE restart, so no ETag). It reads every RTP packet it is sent and counts
// them. It prints "listening <port>" on stdout once ready; each DELETE prints
// "deleted <id> packets <n>". A foreign WHIP server for `webrtc-echo client --whip`.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v3"

	"webrtcecho/pion/peer"
)

type session struct {
	pc      *webrtc.PeerConnection
	packets atomic.Int64
}

type endpoint struct {
	api      *webrtc.API
	mu       sync.Mutex
	next     int
	sessions map[string]*session
	// The endpoint listens on loopback: offers' other candidates are not checked.
	loopbackOnly bool
}

func main() {
	host := flag.String("host", "127.0.0.1", "address to listen on")
	port := flag.Int("port", 0, "TCP port (0 picks a free one)")
	flag.Parse()
	log.SetOutput(os.Stderr)
	// A server listening on loopback is for clients on this machine: it announces loopback only.
	api, err := peer.NewAPIWith(peer.APIOptions{LoopbackOnly: peer.IsLoopbackHost(*host)})
	if err != nil {
		log.Fatalf("pion API: %v", err)
	}
	e := &endpoint{api: api, sessions: map[string]*session{}, loopbackOnly: peer.IsLoopbackHost(*host)}
	mux := http.NewServeMux()
	mux.HandleFunc("/whip", e.create)
	mux.HandleFunc("/whip/", e.resource)
	listener, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	fmt.Printf("listening %d\n", listener.Addr().(*net.TCPAddr).Port)
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(server.Serve(listener))
}

func (e *endpoint) create(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodOptions, http.MethodGet:
		w.Header().Set("Accept-Post", "application/sdp")
		w.WriteHeader(http.StatusOK)
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "POST")
		http.Error(w, "POST an offer", http.StatusMethodNotAllowed)
		return
	}
	if strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0]) != "application/sdp" {
		http.Error(w, "Content-Type must be application/sdp", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64*1024))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	pc, err := e.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s := &session{pc: pc}
	pc.OnTrack(func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		buffer := make([]byte, 1500)
		for {
			if _, _, err := track.Read(buffer); err != nil {
				return
			}
			s.packets.Add(1)
		}
	})
	offer := string(body)
	if e.loopbackOnly {
		offer = peer.KeepLoopbackCandidates(offer)
	}
	answer, err := answerOffer(pc, offer)
	if err != nil {
		pc.Close()
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		return
	}
	e.mu.Lock()
	e.next++
	id := strconv.Itoa(e.next)
	e.sessions[id] = s
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", "/whip/"+id)
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, answer)
}

// answerOffer applies the offer (pion answers a sendonly section recvonly) and returns the answer with every candidate.
func answerOffer(pc *webrtc.PeerConnection, offer string) (string, error) {
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", err
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", err
	}
	<-gathered
	return pc.LocalDescription().SDP, nil
}

func (e *endpoint) resource(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/whip/")
	e.mu.Lock()
	s := e.sessions[id]
	if s != nil && r.Method == http.MethodDelete {
		delete(e.sessions, id)
	}
	e.mu.Unlock()
	if s == nil {
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodDelete:
		s.pc.Close()
		fmt.Printf("deleted %s packets %d\n", id, s.packets.Load())
		w.WriteHeader(http.StatusOK)
	case http.MethodGet, http.MethodOptions:
		w.WriteHeader(http.StatusOK)
	default:
		w.Header().Set("Allow", "DELETE")
		http.Error(w, "this endpoint takes no PATCH", http.StatusMethodNotAllowed)
	}
}
