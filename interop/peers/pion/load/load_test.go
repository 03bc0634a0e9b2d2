package load_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"webrtcecho/pion/load"
	"webrtcecho/pion/peer"
	"webrtcecho/pion/server"
)

// TestJobsAgainstThePionServer drives the worker through its stdin/stdout protocol: sessions
// connect, echo RTP and are closed.
func TestJobsAgainstThePionServer(t *testing.T) {
	api, err := peer.NewAPIWith(peer.APIOptions{LoopbackOnly: true}) // tests stay on loopback
	if err != nil {
		t.Fatal(err)
	}
	sessions := server.NewSessions(api)
	httpServer := httptest.NewServer(server.Handler(sessions))
	defer func() {
		httpServer.Close()
		sessions.CloseAll(2 * time.Second)
	}()
	url := httpServer.URL + "/offer"

	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	go func() { _ = load.Serve(inR, outW); outW.Close() }()
	lines := bufio.NewScanner(outR)
	lines.Buffer(make([]byte, 1<<20), 1<<22)
	call := func(id int, job string) map[string]any {
		fmt.Fprintf(inW, `{"id":%d,"engine":"pion","job":%s}`+"\n", id, job)
		for lines.Scan() {
			var m map[string]any
			if err := json.Unmarshal(lines.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			if m["type"] == "progress" {
				continue
			}
			if m["type"] != "done" {
				t.Fatalf("job %s: %v", job, m)
			}
			return m["result"].(map[string]any)
		}
		t.Fatal("worker closed its output")
		return nil
	}
	plan := fmt.Sprintf(`{"url":%q,"channel":false,"video":true,"firstEcho":true,"timeoutMs":10000}`, url)
	connect := call(1, `{"kind":"connect","plan":`+plan+`,"count":2,"concurrency":2}`)
	for _, s := range connect["sessions"].([]any) {
		if !s.(map[string]any)["ok"].(bool) {
			t.Fatalf("session failed: %v", s)
		}
	}
	if opened := call(2, `{"kind":"echo-open","plan":`+plan+`,"sessions":2,"concurrency":2}`)["opened"]; opened != 2.0 {
		t.Fatalf("opened %v", opened)
	}
	step := call(3, `{"kind":"echo-step","packetsPerSecond":100,"durationMs":500,"drainMs":300,"payloadBytes":1200}`)
	if step["sent"] != 100.0 || step["echoed"].(float64) == 0 || len(step["perSession"].([]any)) != 2 {
		t.Fatalf("step %v", step)
	}
	call(4, `{"kind":"echo-close"}`)
	inW.Close()
}
