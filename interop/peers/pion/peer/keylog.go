package peer

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"os"
	"reflect"
	"unsafe"

	"github.com/pion/dtls/v2"
	"github.com/pion/webrtc/v3"
)

// LogDTLSKeys appends the connection's DTLS secrets to SSLKEYLOGFILE as an NSS key log line
// (CLIENT_RANDOM <client random> <master secret>), so a capture of it decrypts; the matrix's
// --capture sets SSLKEYLOGFILE for every peer it starts. Call it once the connection is
// connected (pion 3.1 keeps one OnConnectionStateChange handler: the caller's). A no-op when
// SSLKEYLOGFILE is unset.
//
// pion/dtls has a KeyLogWriter, but pion/webrtc v3.1.56 neither sets it nor exports its DTLS
// connection. dtls.Conn does export ConnectionState, whose MarshalBinary holds both randoms and
// the master secret; the Conn itself sits in DTLSTransport's unexported conn field, read here
// through reflect and unsafe. Test peers only.
func LogDTLSKeys(pc *webrtc.PeerConnection) {
	path := os.Getenv("SSLKEYLOGFILE")
	if path == "" {
		return
	}
	line, err := keyLogLine(pc.SCTP().Transport())
	if err != nil {
		fmt.Fprintf(os.Stderr, "key log: %v\n", err)
		return
	}
	file, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Fprintf(os.Stderr, "key log: %v\n", err)
		return
	}
	defer file.Close()
	_, _ = file.WriteString(line) // one write of one whole line: the other peer may append too
}

// dtlsState mirrors the fields of pion/dtls's serializedState that a key log needs (gob matches by name).
type dtlsState struct {
	LocalRandom  [32]byte
	RemoteRandom [32]byte
	MasterSecret []byte
	IsClient     bool
}

func keyLogLine(transport *webrtc.DTLSTransport) (string, error) {
	if transport == nil {
		return "", fmt.Errorf("no DTLS transport")
	}
	field := reflect.ValueOf(transport).Elem().FieldByName("conn")
	if !field.IsValid() || field.Type() != reflect.TypeOf((*dtls.Conn)(nil)) {
		return "", fmt.Errorf("this pion/webrtc has no DTLSTransport.conn of type *dtls.Conn")
	}
	conn := *(**dtls.Conn)(unsafe.Pointer(field.UnsafeAddr()))
	if conn == nil {
		return "", fmt.Errorf("the DTLS connection is not up")
	}
	state := conn.ConnectionState()
	binary, err := state.MarshalBinary()
	if err != nil {
		return "", err
	}
	var s dtlsState
	if err := gob.NewDecoder(bytes.NewReader(binary)).Decode(&s); err != nil {
		return "", err
	}
	client := s.RemoteRandom
	if s.IsClient {
		client = s.LocalRandom
	}
	return fmt.Sprintf("CLIENT_RANDOM %x %x\n", client[:], s.MasterSecret), nil
}
