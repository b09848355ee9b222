// Package deploy holds sipwire's deployment files and the tests that check
// their wiring without a container engine or a cluster:
//
//   - Dockerfile: a static CGO_ENABLED=0 build on an empty (scratch) base,
//     non-root, with a health check through `sipwire health`;
//   - ../docker-compose.yml (with otel-collector.yaml, sipwire.container.yaml
//     and sipp/): sipwire beside heplify-server, homer-app, PostgreSQL, an
//     OpenTelemetry collector and Jaeger, and a SIPp profile;
//   - k8s/: Deployment, ConfigMap, Secret, Services, PodDisruptionBudget and
//     trace-fleet.sh, which flips tracing on every pod;
//   - systemd/sipwire.service: a hardened unit.
//
// The package has no exported API; `go test ./deploy` runs the checks.
package deploy
