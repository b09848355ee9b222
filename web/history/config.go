package history

import (
	"log/slog"
	"time"
)

// Defaults of the store's settings (the config's history: section).
const (
	DefaultPath              = "sipwire-history.db"
	DefaultRetention         = 7 * 24 * time.Hour
	DefaultMaxSize           = 1 << 30 // 1 GiB
	DefaultFlushInterval     = time.Second
	DefaultQueueSize         = 65536
	DefaultBatchSize         = 8192
	DefaultRetentionInterval = 30 * time.Second
	DefaultBusyTimeout       = 5 * time.Second
	DefaultCacheSize         = 8 << 20 // 8 MiB
	DefaultReaderCacheSize   = 2 << 20 // 2 MiB
	DefaultIntegrityTimeout  = 5 * time.Second
)

// Config configures a Store. The zero value of a field means its documented
// default.
type Config struct {
	// Path is the database file. It is created when missing; its directory
	// is not. Zero means "sipwire-history.db" in the working directory.
	Path string

	// Retention bounds the age of stored events: older ones are deleted in
	// the background. Zero means 7 days; a negative value keeps events
	// whatever their age.
	Retention time.Duration

	// MaxSize bounds the bytes the database uses: while it uses more, the
	// oldest events are deleted, down to 90% of MaxSize. Zero means 1 GiB; a
	// negative value means no bound.
	MaxSize int64

	// FlushInterval bounds how long a queued event waits before it is
	// written, and so what a crash can lose. Zero means 1 s.
	FlushInterval time.Duration

	// QueueSize bounds the events (and, separately, the Call-IDs) waiting to
	// be written; what finds the queue full is dropped and counted. Zero
	// means 65536.
	QueueSize int

	// BatchSize bounds the events written in one transaction; a full batch
	// is written at once, without waiting for FlushInterval. Zero means 8192.
	BatchSize int

	// RetentionInterval is how often retention runs. Zero means 30 s.
	RetentionInterval time.Duration

	// BusyTimeout bounds how long a statement waits for a lock held by
	// another connection (SQLite's busy_timeout). Zero means 5 s.
	BusyTimeout time.Duration

	// CacheSize bounds the page cache of the writer's connection (SQLite's
	// cache_size), in bytes: memory outside the Go heap that fills as the
	// writer touches pages and stays filled. Zero means 8 MiB.
	CacheSize int64

	// ReaderCacheSize bounds the page cache of each of the query
	// connections (4 of them) and of the checkpointer's, in bytes. Zero
	// means 2 MiB.
	ReaderCacheSize int64

	// IntegrityTimeout bounds the integrity check (PRAGMA quick_check) of
	// an existing file at Open; a check still running then is stopped, the
	// file is used unchecked and a warning is logged. Zero means 5 s; a
	// negative value skips the check.
	IntegrityTimeout time.Duration

	// Logger receives the store's log lines: a corrupt file moved aside,
	// the start and the end of each outage. Nil means slog.Default().
	Logger *slog.Logger
}

func (c *Config) path() string {
	if c.Path == "" {
		return DefaultPath
	}
	return c.Path
}

func (c *Config) retention() time.Duration {
	if c.Retention == 0 {
		return DefaultRetention
	}
	return c.Retention
}

func (c *Config) maxSize() int64 {
	if c.MaxSize == 0 {
		return DefaultMaxSize
	}
	return c.MaxSize
}

func (c *Config) flushInterval() time.Duration {
	if c.FlushInterval <= 0 {
		return DefaultFlushInterval
	}
	return c.FlushInterval
}

func (c *Config) queueSize() int {
	if c.QueueSize <= 0 {
		return DefaultQueueSize
	}
	return c.QueueSize
}

func (c *Config) batchSize() int {
	if c.BatchSize <= 0 {
		return DefaultBatchSize
	}
	return c.BatchSize
}

func (c *Config) retentionInterval() time.Duration {
	if c.RetentionInterval <= 0 {
		return DefaultRetentionInterval
	}
	return c.RetentionInterval
}

func (c *Config) busyTimeout() time.Duration {
	if c.BusyTimeout <= 0 {
		return DefaultBusyTimeout
	}
	return c.BusyTimeout
}

func (c *Config) cacheSize() int64 {
	if c.CacheSize <= 0 {
		return DefaultCacheSize
	}
	return c.CacheSize
}

func (c *Config) readerCacheSize() int64 {
	if c.ReaderCacheSize <= 0 {
		return DefaultReaderCacheSize
	}
	return c.ReaderCacheSize
}

func (c *Config) integrityTimeout() time.Duration {
	if c.IntegrityTimeout == 0 {
		return DefaultIntegrityTimeout
	}
	return c.IntegrityTimeout
}

func (c *Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.Default()
	}
	return c.Logger
}
