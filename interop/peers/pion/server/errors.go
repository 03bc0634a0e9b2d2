package server

import (
	"errors"
	"io"
)

// ErrBadOffer is returned when the body is not a usable SDP offer (HTTP 400).
var ErrBadOffer = errors.New("not a usable SDP offer")

// errClosedPipe is what an echo track returns once the session is gone.
var errClosedPipe = io.ErrClosedPipe
