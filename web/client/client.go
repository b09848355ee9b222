package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sipwire/sipwire/transport"
	"github.com/sipwire/sipwire/web"
)

// DefaultBaseURL is where the API listens by default.
const DefaultBaseURL = "http://127.0.0.1:8080"

// Sentinel errors; every error of a Client wraps one of them.
var (
	// ErrAPI: the API answered with an error status (see *APIError).
	ErrAPI = errors.New("client: API error")
	// ErrRequest: the request could not be made or its answer not read.
	ErrRequest = errors.New("client: request failed")
	// ErrStreamEnded: the event stream ended while following it.
	ErrStreamEnded = errors.New("client: event stream ended")
)

// APIError is an error answer of the API.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("sipwire API: %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// Unwrap makes an APIError match ErrAPI.
func (e *APIError) Unwrap() error { return ErrAPI }

// Client calls one sipwire API.
type Client struct {
	base  string
	token string
	// HTTP is the client used for requests. New sets one with a 30 s
	// timeout for plain requests; the event stream uses no timeout.
	HTTP   *http.Client
	stream *http.Client
}

// New returns a client of the API at baseURL ("http://127.0.0.1:8080"; empty
// means DefaultBaseURL) that sends token as the bearer token when not empty.
func New(baseURL, token string) *Client {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	if !strings.Contains(baseURL, "://") {
		baseURL = "http://" + baseURL
	}
	return &Client{
		base:   strings.TrimRight(baseURL, "/"),
		token:  token,
		HTTP:   &http.Client{Timeout: 30 * time.Second},
		stream: &http.Client{},
	}
}

func (c *Client) do(ctx context.Context, hc *http.Client, method, path string, body, out any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("%w: encode %s %s: %w", ErrRequest, method, path, err)
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: %w", ErrRequest, method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != http.MethodGet {
		req.Header.Set(web.StateChangeHeader, "1")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: %w", ErrRequest, method, c.base+path, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		var eb struct {
			Error string `json:"error"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(b, &eb) != nil || eb.Error == "" {
			eb.Error = strings.TrimSpace(string(b))
		}
		return nil, &APIError{Status: resp.StatusCode, Message: eb.Error}
	}
	if out == nil {
		return resp, nil
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return nil, fmt.Errorf("%w: decode %s %s: %w", ErrRequest, method, path, err)
	}
	return resp, nil
}

// RunID returns the server's run id (GET /stats): it changes when sipwire
// restarts.
func (c *Client) RunID(ctx context.Context) (string, error) {
	var st struct {
		RunID string `json:"run_id"`
	}
	if _, err := c.do(ctx, c.HTTP, http.MethodGet, "/api/v1/stats", nil, &st); err != nil {
		return "", err
	}
	return st.RunID, nil
}

// Trace returns the tracing state ("on" or "off"); with mode "on" or "off"
// it switches tracing first (this needs the token when the API has one).
func (c *Client) Trace(ctx context.Context, mode string) (string, error) {
	var out struct {
		Trace string `json:"trace"`
	}
	var err error
	if mode == "" {
		_, err = c.do(ctx, c.HTTP, http.MethodGet, "/api/v1/trace", nil, &out)
	} else {
		_, err = c.do(ctx, c.HTTP, http.MethodPut, "/api/v1/trace", map[string]string{"trace": mode}, &out)
	}
	return out.Trace, err
}

// Conns returns the connection table, by id.
func (c *Client) Conns(ctx context.Context) ([]transport.ConnSnapshot, error) {
	var out struct {
		Connections []transport.ConnSnapshot `json:"connections"`
	}
	_, err := c.do(ctx, c.HTTP, http.MethodGet, "/api/v1/connections", nil, &out)
	return out.Connections, err
}

// CloseConn closes one connection (this needs the token when the API has one).
func (c *Client) CloseConn(ctx context.Context, id uint64, reason string) error {
	path := "/api/v1/connections/" + strconv.FormatUint(id, 10)
	if reason != "" {
		path += "?reason=" + url.QueryEscape(reason)
	}
	_, err := c.do(ctx, c.HTTP, http.MethodDelete, path, nil, nil)
	return err
}

// EventFilter selects events for Events and FollowEvents.
type EventFilter struct {
	Kinds []string
	Addr  string
	// Limit bounds Events (zero: the API's default of 100).
	Limit int
	// Since is the sequence number after which to start (0: Events returns
	// the latest, FollowEvents starts with new events unless FromSince).
	Since uint64
	// FromSince makes FollowEvents start after Since even when it is 0
	// (after an Events call that found the ring empty).
	FromSince bool
}

func (f *EventFilter) values() url.Values {
	v := url.Values{}
	if len(f.Kinds) > 0 {
		v.Set("kind", strings.Join(f.Kinds, ","))
	}
	if f.Addr != "" {
		v.Set("addr", f.Addr)
	}
	if f.Limit > 0 {
		v.Set("limit", strconv.Itoa(f.Limit))
	}
	if f.Since > 0 {
		v.Set("since", strconv.FormatUint(f.Since, 10))
	}
	return v
}

// Events returns recent events from the server's ring, oldest first, and
// the sequence number to follow from.
func (c *Client) Events(ctx context.Context, f EventFilter) ([]web.Event, uint64, error) {
	var out struct {
		Events    []web.Event `json:"events"`
		NextSince uint64      `json:"next_since"`
	}
	_, err := c.do(ctx, c.HTTP, http.MethodGet, "/api/v1/events?"+f.values().Encode(), nil, &out)
	return out.Events, out.NextSince, err
}

// FollowEvents reads the event stream and calls fn for each event until ctx
// is done (it then returns nil), fn fails, or the stream ends
// (ErrStreamEnded).
func (c *Client) FollowEvents(ctx context.Context, f EventFilter, fn func(web.Event) error) error {
	v := f.values()
	v.Del("limit")
	if f.FromSince {
		v.Set("since", strconv.FormatUint(f.Since, 10))
	}
	resp, err := c.do(ctx, c.stream, http.MethodGet, "/api/v1/events/stream?"+v.Encode(), nil, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var event, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data != "" && event == "" {
				var e web.Event
				if err := json.Unmarshal([]byte(data), &e); err != nil {
					return fmt.Errorf("%w: decode event: %w", ErrRequest, err)
				}
				if err := fn(e); err != nil {
					return err
				}
			}
			event, data = "", ""
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(line[len("event:"):])
		case strings.HasPrefix(line, "data:"):
			data = strings.TrimSpace(line[len("data:"):])
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrStreamEnded, err)
	}
	return ErrStreamEnded
}

// Follow writes every new event to w, one line each (FormatEvent), until ctx
// is done or the stream ends.
func (c *Client) Follow(ctx context.Context, w io.Writer) error {
	return c.FollowEvents(ctx, EventFilter{}, func(e web.Event) error {
		_, err := fmt.Fprintln(w, FormatEvent(&e))
		return err
	})
}

// FormatEvent renders an event as one line:
// "15:04:05.000000 #12 CLOSED SUCCESS conn=3 in 127.0.0.1:5060 <- 127.0.0.1:40000 EOF received".
func FormatEvent(e *web.Event) string {
	arrow := "<-"
	if e.Direction == "out" {
		arrow = "->"
	}
	local := e.Local
	if local == "" {
		local = "-"
	}
	return fmt.Sprintf("%s #%d %s %s conn=%d %s %s %s %s %s",
		e.Time.Local().Format("2006-01-02 15:04:05.000000"), e.Seq, e.Kind, e.Status, e.ConnID, e.Direction, local, arrow, e.Remote, e.Reason)
}
