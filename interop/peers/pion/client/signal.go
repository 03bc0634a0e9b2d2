package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/pion/webrtc/v3"
)

type sessionDescription struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

// postOffer sends the offer to the server's /offer and returns its answer.
func postOffer(ctx context.Context, url string, offer *webrtc.SessionDescription) (webrtc.SessionDescription, error) {
	body, _ := json.Marshal(sessionDescription{Type: "offer", SDP: offer.SDP})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return webrtc.SessionDescription{}, fail(ReasonInternal, "request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return webrtc.SessionDescription{}, fail(ReasonTimeout, "no answer from %s", url)
		}
		return webrtc.SessionDescription{}, fail(ReasonSignalingUnreachable, "%v", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return webrtc.SessionDescription{}, fail(ReasonTimeout, "answer body from %s did not complete", url)
		}
		return webrtc.SessionDescription{}, fail(ReasonSignalingUnreachable, "reading answer: %v", err)
	}
	if res.StatusCode/100 != 2 {
		return webrtc.SessionDescription{}, fail(ReasonSignalingHTTP, "HTTP %d: %s", res.StatusCode, oneLine(raw))
	}
	var answer sessionDescription
	if err := json.Unmarshal(raw, &answer); err != nil {
		return webrtc.SessionDescription{}, fail(ReasonBadAnswer, "body is not JSON: %s", oneLine(raw))
	}
	if answer.Type != "answer" || answer.SDP == "" {
		return webrtc.SessionDescription{}, fail(ReasonBadAnswer, "expected an answer, got type %q with %d bytes of SDP", answer.Type, len(answer.SDP))
	}
	return webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer.SDP}, nil
}

// oneLine keeps failure messages on one line and short.
func oneLine(raw []byte) string {
	s := strings.Join(strings.Fields(string(raw)), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
