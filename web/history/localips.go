package history

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"sync"
)

// localIPs is the set of local IPs the store has seen (the local_ips table,
// kept in memory): the host's own few addresses. Local addresses have no
// index: a query for an IP reads the local side only when the IP is one of
// these, in time order (most events then match).
type localIPs struct {
	mu  sync.RWMutex
	set map[netip.Addr]struct{}
}

// localKey is the set's key of a: the IP as stored (IPv4-mapped as IPv4, no
// zone).
func localKey(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

// load reads the table.
func (l *localIPs) load(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, "SELECT ip FROM local_ips")
	if err != nil {
		return fmt.Errorf("read local IPs: %w", err)
	}
	defer rows.Close()
	l.set = make(map[netip.Addr]struct{})
	for rows.Next() {
		var ip []byte
		if err := rows.Scan(&ip); err != nil {
			return fmt.Errorf("read local IPs: %w", err)
		}
		if a, ok := netip.AddrFromSlice(ip); ok {
			l.set[localKey(a)] = struct{}{}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read local IPs: %w", err)
	}
	return nil
}

// has reports whether ip was seen as a local IP.
func (l *localIPs) has(ip []byte) bool {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	_, found := l.set[localKey(a)]
	return found
}

// note records the local IP of a in tx when it is new. The set learns it
// before the transaction commits, so that no query misses an event of it
// (a rolled-back IP only costs queries for it a scan).
func (l *localIPs) note(ctx context.Context, tx *sql.Tx, a netip.AddrPort) error {
	if !a.IsValid() {
		return nil
	}
	k := localKey(a.Addr())
	l.mu.RLock()
	_, found := l.set[k]
	l.mu.RUnlock()
	if found {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO local_ips (ip) VALUES (?)", k.AsSlice()); err != nil {
		return fmt.Errorf("record local IP: %w", err)
	}
	l.mu.Lock()
	l.set[k] = struct{}{}
	l.mu.Unlock()
	return nil
}
