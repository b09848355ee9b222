package history

import (
	"slices"
	"testing"
)

func TestCallIDPairs(t *testing.T) {
	obs := func(conn uint64, hash, ts int64) callIDObs { return callIDObs{connID: conn, hash: hash, ts: ts} }
	for _, c := range []struct {
		name string
		obs  []callIDObs
		want []callIDRow
	}{
		{"none", nil, []callIDRow{}},
		{"proxy: in and out", []callIDObs{obs(5, 1, 10), obs(1, 1, 11), obs(6, 2, 12), obs(1, 2, 13)},
			[]callIDRow{{hash: 1, conn: 5, conn2: 1, ts: 10}, {hash: 2, conn: 6, conn2: 1, ts: 12}}},
		{"interleaved", []callIDObs{obs(5, 1, 10), obs(6, 2, 11), obs(1, 2, 12), obs(1, 1, 13)},
			[]callIDRow{{hash: 1, conn: 5, conn2: 1, ts: 10}, {hash: 2, conn: 6, conn2: 1, ts: 11}}},
		{"three connections", []callIDObs{obs(5, 1, 10), obs(6, 1, 11), obs(7, 1, 12)},
			[]callIDRow{{hash: 1, conn: 5, conn2: 6, ts: 10}, {hash: 1, conn: 7, ts: 12}}},
		{"same connection again", []callIDObs{obs(5, 1, 10), obs(5, 1, 11), obs(6, 1, 12)},
			[]callIDRow{{hash: 1, conn: 5, ts: 10}, {hash: 1, conn: 5, conn2: 6, ts: 11}}},
	} {
		var p callIDPairs
		// A batch before must leave nothing behind.
		p.group([]callIDObs{obs(9, 1, 1)})
		if got := p.group(c.obs); !slices.Equal(got, c.want) {
			t.Errorf("%s: rows %+v, want %+v", c.name, got, c.want)
		}
	}
}
