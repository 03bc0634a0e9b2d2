package server

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v3"

	"webrtcecho/pion/peer"
)

// Sessions owns every live session: a session unregisters itself when it closes,
// and CloseAll releases what is left at shutdown.
type Sessions struct {
	api *webrtc.API
	// LoopbackOnly: the server listens on loopback; offers' other candidates are not checked.
	LoopbackOnly bool
	nextID       atomic.Int64
	mu           sync.Mutex
	live         map[int64]*Session
}

// NewSessions creates an empty registry whose sessions are built with api.
func NewSessions(api *webrtc.API) *Sessions {
	return &Sessions{api: api, live: map[int64]*Session{}}
}

// Answer creates a session for offer and returns its complete answer.
func (r *Sessions) Answer(offer webrtc.SessionDescription) (*webrtc.SessionDescription, error) {
	id := r.nextID.Add(1)
	if r.LoopbackOnly {
		offer.SDP = peer.KeepLoopbackCandidates(offer.SDP)
	}
	s, err := newSession(r.api, id, offer, r.forget)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.live[id] = s
	r.mu.Unlock()
	return s.LocalDescription(), nil
}

// Count is the number of sessions not yet closed.
func (r *Sessions) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.live)
}

func (r *Sessions) forget(s *Session) {
	r.mu.Lock()
	delete(r.live, s.id)
	r.mu.Unlock()
}

// CloseAll closes every session and waits, at most for timeout, until their peer
// connections are released.
func (r *Sessions) CloseAll(timeout time.Duration) {
	r.mu.Lock()
	all := make([]*Session, 0, len(r.live))
	for _, s := range r.live {
		all = append(all, s)
	}
	r.mu.Unlock()
	deadline := time.After(timeout)
	for _, s := range all {
		s.Close("server shutdown")
	}
	for _, s := range all {
		select {
		case <-s.closed:
		case <-deadline:
			return
		}
	}
}
