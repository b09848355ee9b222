package hep

import (
	"bytes"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// TestStreamWriterWaitsForRoom: a run larger than the socket buffers is
// written whole, in order, through a peer that reads slowly (the writer
// waits for room in the runtime's poller when the socket is full).
func TestStreamWriterWaitsForRoom(t *testing.T) {
	client, server := tcpPair(t)
	client.(*net.TCPConn).SetWriteBuffer(64 << 10)
	want := make([]byte, 8<<20)
	for i := range want {
		want[i] = byte(i * 7)
	}
	got := make(chan []byte, 1)
	go func() {
		var b bytes.Buffer
		buf := make([]byte, 16<<10)
		for b.Len() < len(want) {
			n, err := server.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		got <- b.Bytes()
	}()
	client.SetWriteDeadline(time.Now().Add(testTimeout))
	if err := streamWriter(client)(want); err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("received %d bytes, not the %d written", len(b), len(want))
	}
}

// TestStreamWriterDeadline: to a peer that does not read, the write
// fails with the write deadline (the worker counts a stalled collector by
// it), and on a closed connection with net.ErrClosed.
func TestStreamWriterDeadline(t *testing.T) {
	client, _ := tcpPair(t)
	client.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	write := streamWriter(client)
	err := write(make([]byte, 64<<20))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write to a peer that does not read: %v, want the deadline", err)
	}
	client.Close()
	if err := write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write on a closed connection: %v, want net.ErrClosed", err)
	}
}

// TestBatchWriterSendsEachDatagram: one WriteBatch sends every message
// as a datagram of its own, whole and in order, and says so.
func TestBatchWriterSendsEachDatagram(t *testing.T) {
	ln, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.DialUDP("udp", nil, ln.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	bw, err := newBatchWriter(c)
	if err != nil {
		t.Fatal(err)
	}
	const n = 10
	msgs := make([]ipv4.Message, n)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{bytes.Repeat([]byte{byte('a' + i)}, 100*(i+1))}
	}
	if sent, err := bw.WriteBatch(msgs, 0); sent != n || err != nil {
		t.Fatalf("WriteBatch: %d, %v; want %d sent", sent, err, n)
	}
	buf := make([]byte, 2048)
	ln.SetReadDeadline(time.Now().Add(testTimeout))
	for i := range n {
		k, err := ln.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if want := msgs[i].Buffers[0]; !bytes.Equal(buf[:k], want) {
			t.Fatalf("datagram %d: %d bytes of %q, want %d of %q", i, k, buf[:1], len(want), want[:1])
		}
	}
}
