package peer

import (
	"fmt"
	"os"
	"time"
)

// Stopwatch prints "<step>_ms N" lines on stderr, N counted from its start, so a
// runner can read set-up times without parsing logs.
type Stopwatch struct {
	prefix string
	start  time.Time
}

// NewStopwatch starts a stopwatch; prefix (may be empty) starts every line.
func NewStopwatch(prefix string) *Stopwatch {
	return &Stopwatch{prefix: prefix, start: time.Now()}
}

// Elapsed is the time since the stopwatch started.
func (s *Stopwatch) Elapsed() time.Duration { return time.Since(s.start) }

// Mark prints how long after the start the step was reached.
func (s *Stopwatch) Mark(step string) {
	fmt.Fprintf(os.Stderr, "%s%s_ms %d\n", s.prefix, step, s.Elapsed().Milliseconds())
}
