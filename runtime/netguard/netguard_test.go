package netguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
)

func TestCheckRefusesInternalRanges(t *testing.T) {
	var g Guard
	for _, s := range []string{"127.0.0.1", "169.254.169.254", "10.1.2.3", "192.168.0.1", "172.16.5.5", "::1", "fe80::1", "fd00::1", "0.0.0.0", "::ffff:127.0.0.1", "100.64.0.1"} {
		if err := g.Check(netip.MustParseAddr(s)); !errors.Is(err, ErrRefused) {
			t.Errorf("%s: want refused, got %v", s, err)
		}
	}
	for _, s := range []string{"8.8.8.8", "1.1.1.1", "2606:4700::1111"} {
		if err := g.Check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("%s: want allowed, got %v", s, err)
		}
	}
}

func TestAllowListOpensARange(t *testing.T) {
	allow, err := ParseAllow([]string{"127.0.0.1", "10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	g := Guard{Allow: allow}
	if err := g.Check(netip.MustParseAddr("127.0.0.1")); err != nil {
		t.Errorf("127.0.0.1 allowed by the list: %v", err)
	}
	if err := g.Check(netip.MustParseAddr("127.0.0.2")); err == nil {
		t.Errorf("127.0.0.2 is not in the list and must stay refused")
	}
	if _, err := ParseAllow([]string{"not-an-ip"}); err == nil {
		t.Errorf("a bad entry must be refused")
	}
}

func TestDialRefusesLoopbackNamesAndAllowsWhenListed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	var g Guard
	if _, err := g.DialContext(context.Background(), "tcp", "localhost:"+port); !errors.Is(err, ErrRefused) {
		t.Fatalf("localhost must be refused at dial time, got %v", err)
	}
	g.Allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	c, err := g.DialContext(context.Background(), "tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatalf("allow-listed loopback: %v", err)
	}
	c.Close()
}

func TestAllowAddrsOpensOnePortOnly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	ap := netip.MustParseAddrPort(ln.Addr().String())
	g := Guard{AllowAddrs: []netip.AddrPort{ap}}
	c, err := g.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("the allowed endpoint %s must be reachable: %v", ap, err)
	}
	c.Close()
	other := netip.AddrPortFrom(ap.Addr(), ap.Port()+1)
	if _, err := g.DialContext(context.Background(), "tcp", other.String()); !errors.Is(err, ErrRefused) {
		t.Fatalf("another port of loopback (%s) must stay refused, got %v", other, err)
	}
}
