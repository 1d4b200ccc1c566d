//! The container files keep their production properties (Docker itself is not needed;
//! `.ci/run` also validates docker-compose.yml with `docker compose config` or Debian's
//! docker-compose).

fn read(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The instructions of the final stage of a Dockerfile (after the last `FROM`).
fn final_stage(dockerfile: &str) -> String {
    let start = dockerfile.rfind("\nFROM ").expect("a FROM line");
    dockerfile[start..].to_string()
}

#[test]
fn the_image_builds_locked_with_a_dependency_layer_and_runs_unprivileged() {
    let d = read("Dockerfile");
    let builds: Vec<&str> = d.lines().filter(|l| l.contains("cargo build")).collect();
    assert!(
        builds.len() >= 2,
        "a dependency layer and the real build: {builds:?}"
    );
    assert!(
        builds
            .iter()
            .all(|l| l.contains("--release") && l.contains("--locked")),
        "{builds:?}"
    );
    // The manifests are copied (and built) before the sources.
    let manifests = d
        .find("COPY Cargo.toml Cargo.lock")
        .expect("manifests copied first");
    let sources = d.find("COPY . .").expect("sources copied");
    assert!(manifests < sources && d[manifests..sources].contains("cargo build"));

    let run = final_stage(&d);
    let user = run
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the final stage sets USER");
    assert!(
        !user.starts_with("root") && !user.starts_with('0'),
        "USER {user}"
    );
    assert!(run.contains("HEALTHCHECK"), "no HEALTHCHECK");
    let health = &run[run.find("HEALTHCHECK").unwrap()..];
    assert!(
        health.contains("/healthz") && health.contains("HERALD_LISTEN"),
        "the health check must follow HERALD_LISTEN: {health}"
    );
}

#[test]
fn compose_restarts_and_keeps_metrics_off_public_interfaces() {
    let c = read("docker-compose.yml");
    assert_eq!(
        c.matches("restart: unless-stopped").count(),
        2,
        "both services restart"
    );
    // Published ports: only uncommented list entries of a `ports:` block.
    let mut published = Vec::new();
    let mut in_ports = false;
    for line in c.lines() {
        let t = line.trim();
        if t.starts_with('#') {
            continue;
        }
        if t == "ports:" {
            in_ports = true;
            continue;
        }
        if in_ports {
            if let Some(p) = t.strip_prefix("- ") {
                published.push(p.trim_matches('"').to_string());
                continue;
            }
            in_ports = false;
        }
    }
    assert_eq!(published, ["8080:8080"], "only the API is published");
    assert!(
        c.contains("HERALD_METRICS_LISTEN"),
        "metrics on their own listener"
    );
    // The old comment claimed a fixed JWT secret keeps tokens across a new volume.
    assert!(
        !c.contains("tokens survive"),
        "misleading token comment is back"
    );
}
