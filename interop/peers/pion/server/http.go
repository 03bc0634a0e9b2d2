package server

import (
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"

	"github.com/pion/webrtc/v3"
)

// maxOfferBytes bounds the request body; real offers are a few kilobytes.
const maxOfferBytes = 1 << 20

// sessionDescription is RTCSessionDescriptionInit as JSON.
type sessionDescription struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

// Handler serves POST /offer (and its CORS preflight) for the Echo Test.
func Handler(sessions *Sessions) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/offer", func(w http.ResponseWriter, r *http.Request) {
		// Any page may call us: the Echo Test's browser client is served elsewhere.
		w.Header().Set("Access-Control-Allow-Origin", "*")
		switch r.Method {
		case http.MethodOptions:
			w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
			w.Header().Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
		case http.MethodPost:
			answerOffer(sessions, w, r)
		default:
			w.Header().Set("Allow", "POST, OPTIONS")
			writeError(w, http.StatusMethodNotAllowed, "use POST")
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "POST an offer to /offer")
	})
	return mux
}

func answerOffer(sessions *Sessions, w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxOfferBytes+1))
	if err != nil || len(body) > maxOfferBytes {
		writeError(w, http.StatusBadRequest, "unreadable or oversized body")
		return
	}
	var offer sessionDescription
	if err := json.Unmarshal(body, &offer); err != nil {
		writeError(w, http.StatusBadRequest, "body is not JSON: "+err.Error())
		return
	}
	if offer.Type != "offer" || offer.SDP == "" {
		writeError(w, http.StatusBadRequest, `expected {"type":"offer","sdp":"..."}`)
		return
	}
	answer, err := sessions.Answer(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.SDP})
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, ErrBadOffer) {
			status = http.StatusBadRequest
		}
		log.Printf("offer refused: %v", err)
		writeError(w, status, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(sessionDescription{Type: "answer", SDP: answer.SDP})
}

func writeError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": message})
}
