//! Kafka client properties from a file and the environment, as a team moving to a secured
//! cluster sets them: they reach the clients (a property librdkafka does not know is its
//! error, from the client), and one Clio's guarantees depend on is refused before anything
//! starts.

use std::process::Output;

fn clio(args: &[&str], env: &[(&str, &str)]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_clio"))
        .args(args)
        .current_dir(crate::repo_root())
        // No broker listens here: nothing may wait for one.
        .env("CLIO_BROKERS", "127.0.0.1:9")
        .envs(env.iter().copied())
        .output()
        .expect("clio runs")
}

#[test]
fn properties_reach_the_clients_and_clio_keeps_its_guarantees() {
    let dir = std::env::temp_dir().join(format!("clio-it-kafka-properties-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory");
    let file = dir.join("kafka.properties");
    std::fs::write(&file, "# a property no librdkafka has\nclio.no.such.property=1\n").expect("written");
    let file_text = file.to_str().expect("a path");

    let unknown = clio(&["topics", "create"], &[("CLIO_KAFKA_PROPERTIES_FILE", file_text)]);
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(!unknown.status.success());
    assert!(stderr.contains("clio.no.such.property"), "the client saw the file's property: {stderr}");

    let from_env = clio(&["topics", "create"], &[("CLIO_KAFKA_CLIO_NO_SUCH_THING", "1")]);
    let stderr = String::from_utf8_lossy(&from_env.stderr);
    assert!(!from_env.status.success());
    assert!(stderr.contains("clio.no.such.thing"), "the client saw the variable's property: {stderr}");

    let weakened = clio(&["up"], &[("CLIO_KAFKA_ENABLE_IDEMPOTENCE", "false"), ("CLIO_HTTP_ADDR", "127.0.0.1:0")]);
    let stderr = String::from_utf8_lossy(&weakened.stderr);
    assert!(!weakened.status.success());
    assert!(stderr.contains("enable.idempotence cannot be set"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
