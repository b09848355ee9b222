package web

import (
	"errors"
	"net"
	"testing"

	"github.com/sipwire/sipwire/transport"
)

func TestNewValidatesConfig(t *testing.T) {
	tr := transport.New(transport.Options{}, transport.HandlerFunc(echoOptions))
	t.Cleanup(func() { tr.Close() })
	tests := []struct {
		name string
		cfg  Config
		want error
	}{
		{"default loopback without token", Config{}, nil},
		{"localhost without token", Config{Listen: "localhost:8080"}, nil},
		{"ipv6 loopback without token", Config{Listen: "[::1]:8080"}, nil},
		{"wildcard without token", Config{Listen: "0.0.0.0:8080"}, ErrTokenRequired},
		{"ipv6 wildcard without token", Config{Listen: "[::]:8080"}, ErrTokenRequired},
		{"empty host without token", Config{Listen: ":8080"}, ErrTokenRequired},
		{"public address without token", Config{Listen: "192.0.2.1:8080"}, ErrTokenRequired},
		{"wildcard with token", Config{Listen: "0.0.0.0:8080", Token: "t"}, nil},
		{"no port", Config{Listen: "127.0.0.1"}, ErrConfig},
		{"negative ring", Config{EventRingSize: -1}, ErrConfig},
		{"origin without scheme", Config{AllowedOrigins: []string{"example.com"}}, ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.cfg, Deps{Transport: tr})
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("New = %v, want %v", err, tt.want)
			}
			if s != nil {
				if err := s.Shutdown(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	if _, err := New(Config{}, Deps{}); !errors.Is(err, ErrNoTransport) {
		t.Errorf("New without transport = %v", err)
	}
}

func TestResolveToken(t *testing.T) {
	t.Setenv(EnvToken, "")
	if got := ResolveToken("cfg"); got != "cfg" {
		t.Errorf("without env: %q", got)
	}
	t.Setenv(EnvToken, "env")
	if got := ResolveToken("cfg"); got != "env" {
		t.Errorf("with env: %q", got)
	}
}

func TestStartServesAndShutdownRemovesTheRing(t *testing.T) {
	tr := transport.New(transport.Options{}, transport.HandlerFunc(echoOptions))
	t.Cleanup(func() { tr.Close() })
	s, err := New(Config{Listen: "127.0.0.1:0"}, Deps{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr() != nil {
		t.Errorf("Addr before Start = %v", s.Addr())
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	var addr string
	for range 500 {
		if a := s.Addr(); a != nil {
			addr = a.String()
			break
		}
		waitABit()
	}
	if addr == "" {
		t.Fatal("no address after Start")
	}
	sip, err := tr.Listen("tcp:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// connect opens a SIP connection and waits until the transport has
	// accepted it.
	connect := func() {
		t.Helper()
		accepted := tr.Stats().Accepted
		c, err := net.Dial("tcp", sip.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		for range 500 {
			if tr.Stats().Accepted > accepted {
				return
			}
			waitABit()
		}
		t.Fatal("the connection was not accepted")
	}
	connect()
	for i := 0; s.Ring().LastSeq() != 1; i++ {
		if i == 500 {
			t.Fatalf("the ring holds %d events after an accept, want 1", s.Ring().LastSeq())
		}
		waitABit()
	}
	resp := httpGet(t, "http://"+addr+"/healthz")
	if resp != `{"status":"ok"}` {
		t.Errorf("healthz = %s", resp)
	}
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	connect()
	if n := s.Ring().LastSeq(); n != 1 {
		t.Errorf("the ring observed an accept after Shutdown (%d events)", n)
	}
}

func TestStartReportsBindError(t *testing.T) {
	tr := transport.New(transport.Options{}, transport.HandlerFunc(echoOptions))
	t.Cleanup(func() { tr.Close() })
	s, err := New(Config{Listen: "127.0.0.1:0"}, Deps{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(t.Context()) })
	s2, err := New(Config{Listen: "127.0.0.1:99999"}, Deps{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Shutdown(t.Context()) })
	if err := s2.Start(t.Context()); !errors.Is(err, ErrListen) {
		t.Fatalf("Start on a bad port = %v, want ErrListen", err)
	}
}
