package config

import (
	"io"
	"strings"
	"testing"
)

func BenchmarkDefault(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Default()
	}
}

func BenchmarkParseOpenSIPS(b *testing.B) {
	data := []byte(strings.Join(realisticCfg(b), "\n"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseOpenSIPS(data, "opensips.cfg"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPrint(b *testing.B) {
	c := Default()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Print(io.Discard, true); err != nil {
			b.Fatal(err)
		}
	}
}
