// Package netguard keeps outbound calls away from the node's own networks: it resolves a host
// and refuses loopback, link-local (so cloud metadata endpoints such as 169.254.169.254),
// private, unique-local, CGNAT, multicast and unspecified addresses unless the operator
// allow-lists them. The check runs at dial time on the resolved address, so a DNS name that
// points at 127.0.0.1 is refused like the literal address.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// ErrRefused is wrapped by every refusal.
var ErrRefused = errors.New("netguard: address refused")

// Guard decides which addresses outbound calls may reach. Its zero value refuses every
// internal address. It is safe for concurrent use once built.
type Guard struct {
	// Allow lists internal ranges the operator lets calls reach (a test sink on loopback, a
	// CRM on the private network).
	Allow []netip.Prefix
	// AllowAddrs lists single internal endpoints (address and port) calls may reach, narrower
	// than an Allow prefix: serve --demo lets actions reach its own built-in sink this way,
	// without opening every port of loopback.
	AllowAddrs []netip.AddrPort
	// Resolver resolves names; net.DefaultResolver when nil.
	Resolver *net.Resolver
}

// internal lists the ranges refused unless allowed.
var internal = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("ff00::/8"),
}

// Check says whether calls may reach ip.
func (g *Guard) Check(ip netip.Addr) error {
	ip = ip.Unmap()
	for _, p := range g.Allow {
		if p.Contains(ip) {
			return nil
		}
	}
	for _, p := range internal {
		if p.Contains(ip) {
			return fmt.Errorf("%w: %s is in %s (internal); an operator can allow it with --allow-net", ErrRefused, ip, p)
		}
	}
	return nil
}

// exact reports whether ap is one of the allowed single endpoints.
func (g *Guard) exact(ap netip.AddrPort) bool {
	for _, a := range g.AllowAddrs {
		if a.Addr().Unmap() == ap.Addr() && a.Port() == ap.Port() {
			return true
		}
	}
	return false
}

// ParseAllow parses a comma-free list of CIDR prefixes or single addresses.
func ParseAllow(items []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range items {
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("netguard: %q is neither an address nor a CIDR prefix (e.g. 127.0.0.1 or 10.0.0.0/8)", s)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// DialContext resolves addr ("host:port"), checks every address it resolves to and dials the
// first one allowed. A name resolving to any refused address is refused, so a DNS answer
// mixing public and internal addresses cannot be used to reach the internal one.
func (g *Guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		r := g.Resolver
		if r == nil {
			r = net.DefaultResolver
		}
		if ips, err = r.LookupNetIP(ctx, "ip", host); err != nil {
			return nil, err
		}
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("netguard: %s resolves to no address", host)
	}
	pn, _ := strconv.ParseUint(port, 10, 16)
	for _, ip := range ips {
		if g.exact(netip.AddrPortFrom(ip.Unmap(), uint16(pn))) {
			continue
		}
		if err := g.Check(ip); err != nil {
			return nil, fmt.Errorf("%s: %w", host, err)
		}
	}
	var d net.Dialer
	var last error
	for _, ip := range ips {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, last
}

// DialTimeout is DialContext in the shape fasthttp's Client.DialTimeout wants.
func (g *Guard) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return g.DialContext(ctx, "tcp", addr)
}
