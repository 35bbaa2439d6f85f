# SPDX-License-Identifier: MIT
# crowdsec_lapi.sh - sourced: the working directory of a CrowdSec LAPI for a
# test (Debian's crowdsec, unpacked, never installed), listening on port 8080
# of every address of its namespace. Used by test_crowdsec.sh and by
# tests/system/inside.sh. Start it with: crowdsec -c DIR/config.yaml -no-cs

crowdsec_lapi_dir() {	# DIR CROWDSEC_ROOT
	local cs=$1
	mkdir -p "$cs/data" "$cs/hub" "$cs/plugins" "$cs/notifications" || return 1
	cp "$2/etc/crowdsec/profiles.yaml" "$cs/" || return 1
	echo 'simulation: false' >"$cs/simulation.yaml"
	echo '{}' >"$cs/hub/.index.json"
	cat >"$cs/config.yaml" <<EOF
common:
  daemonize: false
  log_media: stdout
  log_level: info
  working_dir: $cs
config_paths:
  config_dir: $cs/
  data_dir: $cs/data/
  simulation_path: $cs/simulation.yaml
  hub_dir: $cs/hub/
  index_path: $cs/hub/.index.json
  notification_dir: $cs/notifications/
  plugin_dir: $cs/plugins/
cscli:
  output: human
  color: "no"
db_config:
  log_level: info
  type: sqlite
  db_path: $cs/data/crowdsec.db
  use_wal: false
  flush:
    max_items: 5000
    max_age: 7d
api:
  client:
    insecure_skip_verify: false
    credentials_path: $cs/local_api_credentials.yaml
  server:
    log_level: info
    listen_uri: 0.0.0.0:8080
    profiles_path: $cs/profiles.yaml
    trusted_ips: [127.0.0.1]
prometheus:
  enabled: false
EOF
}
