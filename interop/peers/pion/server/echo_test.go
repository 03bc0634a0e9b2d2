package server_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"webrtcecho/pion/client"
	"webrtcecho/pion/peer"
	"webrtcecho/pion/server"
)

// newEchoServer runs the real handler on a loopback port.
func newEchoServer(t *testing.T) (*server.Sessions, string) {
	t.Helper()
	api, err := peer.NewAPIWith(peer.APIOptions{LoopbackOnly: true}) // tests stay on loopback
	if err != nil {
		t.Fatal(err)
	}
	sessions := server.NewSessions(api)
	httpServer := httptest.NewServer(server.Handler(sessions))
	t.Cleanup(func() {
		httpServer.Close()
		sessions.CloseAll(2 * time.Second)
	})
	return sessions, httpServer.URL + "/offer"
}

func TestClientConnectsAndGetsItsDataChannelMessageBack(t *testing.T) {
	_, url := newEchoServer(t)
	if err := client.Run(client.Options{URL: url, Test: 1, Timeout: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
}

func TestClientGetsRTPEchoedBack(t *testing.T) {
	_, url := newEchoServer(t)
	opts := client.Options{URL: url, Test: 0, Timeout: 10 * time.Second, EchoWait: 3 * time.Second, NeedEcho: true}
	if err := client.Run(opts); err != nil {
		t.Fatal(err)
	}
}

func TestOfferThatIsNotAnOfferGets400AndNoSession(t *testing.T) {
	sessions, url := newEchoServer(t)
	for _, body := range []string{`not json`, `{"type":"answer","sdp":"v=0"}`, `{"type":"offer","sdp":"v=0"}`} {
		res, err := http.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d", body, res.StatusCode)
		}
		if res.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: no CORS header", body)
		}
	}
	if n := sessions.Count(); n != 0 {
		t.Errorf("%d sessions left", n)
	}
}

func TestClientFailsFastOnAClosedPort(t *testing.T) {
	listener := httptest.NewServer(http.NotFoundHandler())
	url := listener.URL + "/offer"
	listener.Close()
	start := time.Now()
	err := client.Run(client.Options{URL: url, Test: 1, Timeout: 10 * time.Second})
	failure, ok := err.(*client.Failure)
	if !ok || failure.Reason != client.ReasonSignalingUnreachable {
		t.Fatalf("got %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("took %s", time.Since(start))
	}
}

// With SSLKEYLOGFILE set, server and client each append the DTLS secrets of their one
// handshake: the same CLIENT_RANDOM line twice (peer/keylog.go), which is what decrypts a capture.
func TestBothSidesLogTheSameDTLSKeysToSSLKEYLOGFILE(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "keys.log")
	t.Setenv("SSLKEYLOGFILE", keys)
	_, url := newEchoServer(t)
	if err := client.Run(client.Options{URL: url, Test: 1, Timeout: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	// The server writes from its own connection-state callback: give it a moment.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if data, _ := os.ReadFile(keys); strings.Count(string(data), "\n") >= 2 {
			break
		}
	}
	data, _ := os.ReadFile(keys)
	got := strings.Split(strings.TrimSpace(string(data)), "\n")
	line := regexp.MustCompile(`^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$`)
	if len(got) != 2 || got[0] != got[1] || !line.MatchString(got[0]) {
		t.Fatalf("want one CLIENT_RANDOM line from each side, the same; got %q", got)
	}
}
