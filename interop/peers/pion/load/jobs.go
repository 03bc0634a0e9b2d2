package load

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
	"time"

	"github.com/pion/webrtc/v3"

	"webrtcecho/pion/peer"
)

// Worker answers the coordinator's jobs; the echo and idle sessions live between jobs.
type Worker struct {
	// One API (and UDP mux) per kind of server address, made on first use: loopback only for a
	// server at a loopback URL (NewAPI).
	apis map[bool]*webrtc.API
	apiM sync.Mutex
	out  *json.Encoder
	outM sync.Mutex
	echo EchoSessions
	idle IdleSessions
}

// Serve reads one JSON request per line until stdin closes (the coordinator went away), then
// closes every session.
func Serve(in io.Reader, out io.Writer) error {
	w := &Worker{apis: map[bool]*webrtc.API{}, out: json.NewEncoder(out)}
	scanner := bufio.NewScanner(in)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	var running sync.WaitGroup
	for scanner.Scan() {
		var request Request
		if err := json.Unmarshal(scanner.Bytes(), &request); err != nil {
			fmt.Fprintf(os.Stderr, "pion-load: bad request: %v\n", err)
			continue
		}
		running.Add(1)
		go func() {
			defer running.Done()
			w.handle(request)
		}()
	}
	running.Wait()
	w.echo.close()
	w.idle.release()
	return scanner.Err()
}

func (w *Worker) send(m message) {
	w.outM.Lock()
	defer w.outM.Unlock()
	_ = w.out.Encode(m)
}

func (w *Worker) handle(r Request) {
	progress := throttled(200*time.Millisecond, func(done, failed int) {
		w.send(message{ID: r.ID, Type: "progress", Done: done, Failed: failed})
	})
	result, err := w.run(r.Job, progress)
	if err != nil {
		w.send(message{ID: r.ID, Type: "error", Message: err.Error()})
		return
	}
	raw, err := json.Marshal(result)
	if err != nil {
		w.send(message{ID: r.ID, Type: "error", Message: err.Error()})
		return
	}
	w.send(message{ID: r.ID, Type: "done", Result: raw})
}

// apiFor is the API for sessions with the server at rawURL.
func (w *Worker) apiFor(rawURL string) (*webrtc.API, error) {
	loopback := peer.IsLoopbackURL(rawURL)
	w.apiM.Lock()
	defer w.apiM.Unlock()
	if api, ok := w.apis[loopback]; ok {
		return api, nil
	}
	api, err := NewAPI(loopback)
	if err != nil {
		return nil, err
	}
	w.apis[loopback] = api
	return api, nil
}

func (w *Worker) run(job Job, progress func(done, failed int)) (any, error) {
	switch job.Kind {
	case "connect", "echo-open", "idle-open", "datachannel":
		api, err := w.apiFor(job.Plan.URL)
		if err != nil {
			return nil, err
		}
		return w.open(api, job, progress), nil
	}
	switch job.Kind {
	case "warmup":
		return map[string]string{"engine": "pion"}, nil
	case "echo-step":
		return w.echo.step(job), nil
	case "echo-close":
		return w.echo.close(), nil
	case "idle-close":
		return w.idle.release(), nil
	}
	return nil, fmt.Errorf("unknown job %q", job.Kind)
}

// open runs the jobs that open sessions.
func (w *Worker) open(api *webrtc.API, job Job, progress func(done, failed int)) any {
	switch job.Kind {
	case "connect":
		return runConnect(api, job, progress)
	case "echo-open":
		return w.echo.open(api, job, progress)
	case "idle-open":
		return w.idle.add(api, job, progress)
	default: // "datachannel"
		return runDataChannel(api, job, progress)
	}
}

// runConnect opens `count` sessions, `concurrency` at a time (or started at RatePerSecond), each
// closed once its first echo is back.
func runConnect(api *webrtc.API, job Job, progress func(done, failed int)) ConnectJobResult {
	started := time.Now()
	var mu sync.Mutex
	records := []SessionRecord{}
	failed := 0
	run := runConcurrently
	if job.RatePerSecond > 0 {
		run = func(count, concurrency int, task func(int)) { runAtRate(count, job.RatePerSecond, concurrency, task) }
	}
	run(job.Count, job.Concurrency, func(int) {
		begin := time.Now()
		s, record := openSession(api, job.Plan)
		if s != nil {
			s.Close()
			record.Timings["closed"] = math.Round(float64(time.Since(begin).Microseconds())/100) / 10
		}
		mu.Lock()
		defer mu.Unlock()
		if !record.OK {
			failed++
		}
		records = append(records, record)
		progress(len(records), failed)
	})
	return ConnectJobResult{Sessions: records, ElapsedMs: ms(time.Since(started))}
}

// IdleSessions are connected sessions held open so the server's memory per session can be read.
type IdleSessions struct {
	mu       sync.Mutex
	sessions []*Session
}

func (x *IdleSessions) add(api *webrtc.API, job Job, progress func(done, failed int)) OpenJobResult {
	var mu sync.Mutex
	opened := 0
	failures := []SessionRecord{}
	runConcurrently(job.Add, job.Concurrency, func(int) {
		s, record := openSession(api, job.Plan)
		mu.Lock()
		defer mu.Unlock()
		if s != nil {
			x.mu.Lock()
			x.sessions = append(x.sessions, s)
			x.mu.Unlock()
			opened++
		} else {
			failures = append(failures, record)
		}
		progress(opened+len(failures), len(failures))
	})
	return OpenJobResult{Opened: opened, Failures: failures}
}

func (x *IdleSessions) release() map[string]int {
	x.mu.Lock()
	all := x.sessions
	x.sessions = nil
	x.mu.Unlock()
	closeAll(len(all), func(i int) { all[i].Close() })
	return map[string]int{"released": len(all)}
}

// runDataChannel keeps `window` binary messages in flight per session for the duration;
// each message carries its index, so its echo gives a round trip (datachannel-job.ts).
func runDataChannel(api *webrtc.API, job Job, progress func(done, failed int)) DataChannelJobResult {
	plan := job.Plan
	plan.Channel = true
	var mu sync.Mutex
	var sessions []*Session
	failures := []SessionRecord{}
	concurrency := job.Sessions
	if concurrency > 10 {
		concurrency = 10
	}
	runConcurrently(job.Sessions, concurrency, func(int) {
		s, record := openSession(api, plan)
		mu.Lock()
		defer mu.Unlock()
		if s != nil {
			sessions = append(sessions, s)
		} else {
			failures = append(failures, record)
		}
		progress(len(sessions)+len(failures), len(failures))
	})
	result := DataChannelJobResult{OpenJobResult: OpenJobResult{Opened: len(sessions), Failures: failures}, RttMs: []float64{}}
	size := job.MessageBytes
	if size < 8 {
		size = 8
	}
	limit := math.MaxInt
	if job.MaxMessages != nil {
		limit = *job.MaxMessages
	}
	started := time.Now()
	duration := time.Duration(job.DurationMs) * time.Millisecond
	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Add(1)
		go func(s *Session) {
			defer wg.Done()
			sent, echoed, mismatched, bytes, rtts := channelLoop(s, size, job.Window, limit, started, duration)
			mu.Lock()
			result.Sent += sent
			result.Echoed += echoed
			result.Mismatched += mismatched
			result.BytesEchoed += bytes
			result.RttMs = append(result.RttMs, rtts...)
			mu.Unlock()
		}(s)
	}
	wg.Wait()
	result.ElapsedMs = ms(time.Since(started))
	closeAll(len(sessions), func(i int) { sessions[i].Close() })
	return result
}

func channelLoop(s *Session, size, window, limit int, started time.Time, duration time.Duration) (sent, echoed, mismatched, bytes int, rtts []float64) {
	var mu sync.Mutex
	sendTimes := map[uint32]time.Time{}
	done := make(chan struct{})
	var doneOnce sync.Once
	next := uint32(0)
	mayStart := func() bool { return int(next) < limit && time.Since(started) < duration }
	sendOne := func() {
		message := make([]byte, size)
		for i := range message {
			message[i] = 0x61
		}
		binary.BigEndian.PutUint32(message, next)
		sendTimes[next] = time.Now()
		next++
		sent++
		_ = s.channel.Send(message)
	}
	s.setOnMessage(func(m webrtc.DataChannelMessage) {
		mu.Lock()
		defer mu.Unlock()
		if len(m.Data) < 4 {
			mismatched++
			return
		}
		index := binary.BigEndian.Uint32(m.Data)
		at, ok := sendTimes[index]
		if !ok || len(m.Data) != size {
			mismatched++
			return
		}
		delete(sendTimes, index)
		echoed++
		bytes += len(m.Data)
		rtts = append(rtts, math.Round(float64(time.Since(at).Microseconds())/10)/100)
		if mayStart() {
			sendOne()
		} else if len(sendTimes) == 0 {
			doneOnce.Do(func() { close(done) })
		}
	})
	mu.Lock()
	for i := 0; i < window && mayStart(); i++ {
		sendOne()
	}
	mu.Unlock()
	select {
	case <-done:
	case <-time.After(time.Until(started.Add(duration + 2*time.Second))):
	}
	s.setOnMessage(func(webrtc.DataChannelMessage) {})
	mu.Lock()
	defer mu.Unlock()
	return sent, echoed, mismatched, bytes, rtts
}

// runConcurrently runs task(0..count-1) with at most `concurrency` in flight.
func runConcurrently(count, concurrency int, task func(int)) {
	if concurrency < 1 {
		concurrency = 1
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for lane := 0; lane < concurrency && lane < count; lane++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= count {
					return
				}
				task(i)
			}
		}()
	}
	wg.Wait()
}

// runAtRate starts task(0..count-1) at `rate` per second, on schedule whether or not earlier
// ones finished (an open loop), with at most `maxInFlight` running: past that a start waits for
// a slot. Returns when every task has.
func runAtRate(count int, rate float64, maxInFlight int, task func(int)) {
	if maxInFlight < 1 {
		maxInFlight = 1
	}
	slots := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	started := time.Now()
	for i := 0; i < count; i++ {
		due := started.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		slots <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-slots }()
			task(i)
		}(i)
	}
	wg.Wait()
}

// closeAll closes many sessions in parallel (pion's Close waits for its goroutines).
func closeAll(n int, closeOne func(int)) {
	runConcurrently(n, 32, closeOne)
}

func throttled(every time.Duration, report func(done, failed int)) func(done, failed int) {
	var mu sync.Mutex
	var last time.Time
	return func(done, failed int) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) >= every {
			last = time.Now()
			report(done, failed)
		}
	}
}

func nonNil(records []SessionRecord) []SessionRecord {
	if records == nil {
		return []SessionRecord{}
	}
	return records
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/100) / 10 }
