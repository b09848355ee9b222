package main

import (
	"encoding/json"
	"fmt"
	"os"
)

// saved is everything a run measured, written as results.json in the work
// folder so that the report can be rendered again (-report-from).
type saved struct {
	Env   environment
	Opts  options
	Idle  map[string]idleResult
	Steps []stepResult
	Flips []flipResult
}

// save writes the run's measurements to path.
func (b *bench) save(path string, env environment) error {
	raw, err := json.MarshalIndent(saved{Env: env, Opts: b.opts, Idle: b.idle, Steps: b.steps, Flips: b.flips}, "", " ")
	if err != nil {
		return fmt.Errorf("save results: %w", err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		return fmt.Errorf("save results: %w", err)
	}
	return nil
}

// loadSaved reads a results.json written by save.
func loadSaved(path string) (*bench, environment, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, environment{}, fmt.Errorf("load results: %w", err)
	}
	var s saved
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, environment{}, fmt.Errorf("load results %s: %w", path, err)
	}
	if s.Idle == nil {
		s.Idle = map[string]idleResult{}
	}
	return &bench{opts: s.Opts, idle: s.Idle, steps: s.Steps, flips: s.Flips}, s.Env, nil
}
