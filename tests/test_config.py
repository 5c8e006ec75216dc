"""Configuration schema, loader, error messages, env expansion and schedule windows."""

from __future__ import annotations

import textwrap
from datetime import datetime
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from nvr.config import (
    ApiConfig,
    CameraConfig,
    Config,
    LoggingConfig,
    MotionConfig,
    OnvifConfig,
    RecordConfig,
    RetentionConfig,
    ScheduleWindow,
    StorageConfig,
    TypeDays,
    format_size,
    load_config,
    parse_config,
    parse_size,
)
from nvr.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "nvr.example.yaml"
SECRET = "hunter2-very-secret"

# 2024-01-01 is a Monday; ``at`` builds local wall times in that week.
DAY_INDEX = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}


def at(day: str, hhmm: str) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(2024, 1, DAY_INDEX[day], hours, minutes)


def yaml(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(yaml(text), source="test.yaml")
    assert info.value.source == "test.yaml"
    return info.value.errors


MINIMAL = """
storage:
  path: /srv/nvr
"""


# --- valid files ---------------------------------------------------------------------------


def test_example_file_validates_with_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FRONT_DOOR_PASSWORD", raising=False)
    monkeypatch.delenv("DRIVEWAY_PASSWORD", raising=False)
    config = load_config(EXAMPLE)
    assert [c.id for c in config.cameras] == ["front_door", "driveway"]
    front, driveway = config.cameras
    assert front.record.mode == "continuous"
    assert front.sub is not None
    assert "changeme" in front.main
    assert driveway.record.mode == "motion"
    assert driveway.record.schedule
    assert len(driveway.motion.zones) == 1
    assert driveway.sub is None
    assert front.onvif is not None and front.onvif.password.get_secret_value() == "changeme"
    assert driveway.onvif is None


def test_example_file_storage_and_retention() -> None:
    config = load_config(EXAMPLE)
    assert config.storage.max_bytes is None
    assert config.storage.min_free_bytes == 5 * 10**9
    assert config.storage.retention_check_s == 60
    front, driveway = (c.retention for c in config.cameras)
    assert (front.max_days, front.max_bytes) == (30, 500 * 10**9)
    days = {t: front.days_for(t) for t in ("continuous", "motion", "scheduled", "manual", "panic")}
    assert days == {"continuous": 7, "motion": 60, "scheduled": 30, "manual": 30, "panic": 365}
    assert (driveway.max_days, driveway.max_bytes) == (90, 3 * 2**40 // 2)
    assert driveway.per_type_days == TypeDays()


def test_example_file_takes_secret_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONT_DOOR_PASSWORD", SECRET)
    front = load_config(str(EXAMPLE)).camera("front_door")
    assert front is not None
    assert f"admin:{SECRET}@" in front.main
    assert f"admin:{SECRET}@" in (front.sub or "")
    assert SECRET not in repr(front)
    assert front.onvif is not None and front.onvif.password.get_secret_value() == SECRET
    assert SECRET not in repr(front.onvif) and SECRET not in str(front.onvif.model_dump())


def test_example_file_mentions_every_key() -> None:
    text = EXAMPLE.read_text()

    def keys(model: type[BaseModel]) -> set[str]:
        found = set(model.model_fields)
        for field in model.model_fields.values():
            inner = field.annotation
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                found |= keys(inner)
        return found

    for key in keys(Config) | keys(CameraConfig) | keys(ScheduleWindow) | keys(OnvifConfig):
        assert f"{key}:" in text, key


def test_minimal_file_gets_every_default() -> None:
    config = parse_config(yaml(MINIMAL))
    assert config.storage.path == Path("/srv/nvr")
    assert config.storage.max_bytes is None
    assert config.storage.min_free_bytes == 5_000_000_000
    assert config.storage.retention_check_s == 60
    assert config.api == ApiConfig(host="127.0.0.1", port=8765)
    assert config.logging.level == "INFO"
    assert config.logging.keep_days == 14
    assert config.logging.log_dir(config.storage.path) == Path("/srv/nvr/logs")
    assert config.cameras == ()


def test_camera_defaults_and_lookup() -> None:
    config = parse_config(
        yaml("""
        storage: {path: /srv/nvr}
        cameras:
          - id: cam1
            main: rtsp://cam1/main
          - id: demo
            name: Demo clip
            main: /videos/demo.mp4
          - id: file-url
            main: file:///videos/demo.mp4
        """)
    )
    cam = config.camera("cam1")
    assert cam is not None
    assert cam.display_name == "cam1"
    assert cam.enabled is True
    assert cam.sub is None
    assert cam.transport == "tcp"
    assert cam.timeout_s == 5.0
    assert cam.record == RecordConfig()
    assert cam.record.mode == "continuous"
    assert (cam.record.pre_roll_s, cam.record.post_roll_s, cam.record.segment_s) == (5, 10, 60)
    assert cam.motion == MotionConfig()
    assert cam.motion.threshold == 25
    assert cam.motion.zones == ()
    assert cam.retention == RetentionConfig(max_days=None, max_bytes=None, per_type_days=TypeDays())
    assert config.camera("demo").display_name == "Demo clip"  # type: ignore[union-attr]
    assert config.camera("missing") is None


def test_logging_dir_override() -> None:
    config = parse_config(yaml(MINIMAL + "logging: {dir: /var/log/nvr, level: DEBUG}\n"))
    assert config.logging.log_dir(config.storage.path) == Path("/var/log/nvr")
    assert LoggingConfig().log_dir("/data") == Path("/data/logs")


def test_empty_sections_mean_defaults() -> None:
    config = parse_config("storage:\n  path: /srv\napi:\nlogging:\ncameras:\n")
    assert config.api == ApiConfig()
    assert config.logging == LoggingConfig()
    assert config.cameras == ()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_loopback_hosts_accepted(host: str) -> None:
    assert parse_config(yaml(MINIMAL) + f'api: {{host: "{host}", port: 0}}\n').api.host == host


def test_yaml_anchors_and_merge_keys_work() -> None:
    config = parse_config(
        yaml("""
        storage: {path: /srv}
        cameras:
          - &base
            id: a
            main: rtsp://h/a
            transport: udp
          - <<: *base
            id: b
            main: rtsp://h/b
        """)
    )
    assert [c.transport for c in config.cameras] == ["udp", "udp"]
    assert config.cameras[1].id == "b"


# --- equality and immutability ---------------------------------------------------------------


CAMERA_A = """
storage: {path: /srv}
cameras:
  - id: a
    main: rtsp://h/a
    record: {mode: motion, pre_roll_s: 3}
    motion: {zones: [[[0, 0], [1, 0], [1, 1]]]}
"""

# The same camera spelled differently: defaults written out, floats for ints, other sections.
CAMERA_A_AGAIN = """
api: {port: 9000}
storage: {path: /elsewhere}
cameras:
  - id: a
    enabled: true
    main: rtsp://h/a
    transport: tcp
    record:
      mode: motion
      pre_roll_s: 3.0
      schedule: []
    motion:
      zones:
        - [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]
  - id: b
    main: rtsp://h/b
"""


def test_identical_camera_configs_compare_equal() -> None:
    first = parse_config(CAMERA_A).camera("a")
    second = parse_config(CAMERA_A_AGAIN).camera("a")
    assert first == second
    assert hash(first) == hash(second)
    changed = parse_config(CAMERA_A.replace("pre_roll_s: 3", "pre_roll_s: 4")).camera("a")
    assert changed != first


def test_models_are_frozen() -> None:
    config = parse_config(CAMERA_A)
    with pytest.raises(ValidationError):
        config.cameras[0].enabled = False  # type: ignore[misc]
    assert isinstance(config.cameras, tuple)
    assert isinstance(config.cameras[0].motion.zones[0][0], tuple)


def test_every_field_has_a_description_and_numbers_have_a_range() -> None:
    models: list[type[BaseModel]] = [
        StorageConfig,
        ApiConfig,
        LoggingConfig,
        ScheduleWindow,
        RecordConfig,
        MotionConfig,
        CameraConfig,
        RetentionConfig,
        TypeDays,
        Config,
    ]
    required = {"path", "id", "main", "storage"}
    for model in models:
        assert model.model_config.get("extra") == "forbid"
        assert model.model_config.get("frozen") is True
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name}"
            assert field.is_required() == (name in required), f"{model.__name__}.{name}"
            if field.annotation in (int, float):
                kinds = {type(m).__name__ for m in field.metadata}
                assert {"Ge", "Le"} <= kinds, f"{model.__name__}.{name}"


# --- error messages --------------------------------------------------------------------------


def test_bad_enum_value_names_path_line_and_choices() -> None:
    errors = problems("""
        storage:
          path: /srv
        cameras:
          - id: a
            main: rtsp://h/a
            record:
              mode: contnuous
        """)
    assert errors == [
        "cameras[0].record.mode (line 7): must be one of continuous, motion, scheduled, off; "
        "got 'contnuous'"
    ]


def test_unknown_key_lists_allowed_keys() -> None:
    errors = problems("""
        storage: {path: /srv}
        cameras:
          - id: a
            main: rtsp://h/a
          - id: b
            main: rtsp://h/b
            recrd: {}
        """)
    assert errors == [
        "cameras[1].recrd (line 7): unknown key; allowed keys are id, name, enabled, main, sub, "
        "transport, timeout_s, record, motion, retention, alarms, onvif"
    ]


def test_out_of_range_gives_both_bounds() -> None:
    errors = problems("""
        storage: {path: /srv}
        cameras:
          - id: a
            main: rtsp://h/a
            record:
              pre_roll_s: 90
            motion:
              alpha: 0
        """)
    assert errors == [
        "cameras[0].record.pre_roll_s (line 6): must be between 0 and 60; got 90",
        "cameras[0].motion.alpha (line 8): must be between 0.001 and 1; got 0",
    ]


def test_missing_required_keys() -> None:
    assert problems("api: {port: 1}\n") == ["storage: required key is missing"]
    assert problems("storage: {}\n") == ["storage.path (line 1): required key is missing"]
    # A missing key inside a list item falls back to the item's line.
    errors = problems("""
        storage: {path: /srv}
        cameras:
          - id: a
            name: no stream
        """)
    assert errors == ["cameras[0].main (line 3): required key is missing"]


def test_type_errors_are_plain_sentences() -> None:
    errors = problems("""
        storage: {path: /srv}
        api: {port: eighty}
        logging: {keep_days: 1.5}
        cameras:
          - id: a
            main: rtsp://h/a
            enabled: maybe
            timeout_s: soon
            motion: {zones: {a: 1}, alpha: .nan}
            name: [x]
        """)
    assert errors == [
        "api.port (line 2): must be a whole number; got 'eighty'",
        "logging.keep_days (line 3): must be a whole number; got 1.5",
        "cameras[0].enabled (line 7): must be true or false; got 'maybe'",
        "cameras[0].timeout_s (line 8): must be a number; got 'soon'",
        "cameras[0].motion.alpha (line 9): must be a finite number; got nan",
        "cameras[0].motion.zones (line 9): must be a list; got a mapping",
        "cameras[0].name (line 10): must be a text string; got a list",
    ]
    assert problems("storage: {path: [a]}\n") == [
        "storage.path (line 1): must be a filesystem path; got a list"
    ]


def test_numbers_are_accepted_for_text_fields() -> None:
    config = parse_config("storage: {path: /srv}\ncameras: [{id: 1, name: 42, main: 7}]\n")
    assert (config.cameras[0].id, config.cameras[0].display_name) == ("1", "42")


def test_every_problem_is_reported_at_once_in_file_order() -> None:
    errors = problems("""
        storage:
          pth: /srv
        api:
          host: 0.0.0.0
          port: 70000
        logging:
          level: info
          keep_days: 0
        cameras:
          - id: Front Door
            main: ftp://cam/x
            transport: quic
            record:
              mode: sometimes
              segment_s: 1
            motion:
              threshold: 300
              zones:
                - [[0, 0], [1, 0]]
                - [[0, 0], [1.5, 0], [1, 1]]
              junk: 1
        bogus: true
        """)
    assert [e.split(":", 1)[0] for e in errors] == [
        "storage.path (line 1)",
        "storage.pth (line 2)",
        "api.host (line 4)",
        "api.port (line 5)",
        "logging.level (line 7)",
        "logging.keep_days (line 8)",
        "cameras[0].id (line 10)",
        "cameras[0].main (line 11)",
        "cameras[0].transport (line 12)",
        "cameras[0].record.mode (line 14)",
        "cameras[0].record.segment_s (line 15)",
        "cameras[0].motion.threshold (line 17)",
        "cameras[0].motion.zones[0] (line 19)",
        "cameras[0].motion.zones[1][1][0] (line 20)",
        "cameras[0].motion.junk (line 21)",
        "bogus (line 22)",
    ]
    assert (
        "storage.pth (line 2): unknown key; allowed keys are path, max_bytes, min_free_bytes, "
        "retention_check_s, require_mount, group" in errors
    )
    assert (
        "logging.level (line 7): must be one of DEBUG, INFO, WARNING, ERROR; got 'info'" in errors
    )
    assert "cameras[0].motion.zones[0] (line 19): must have at least 3 item(s); got 2" in errors
    assert "cameras[0].motion.zones[1][1][0] (line 20): must be between 0 and 1; got 1.5" in errors
    assert any(e.startswith("cameras[0].id (line 10): must be 1 to 32 characters") for e in errors)
    assert any("unsupported URL scheme 'ftp'" in e for e in errors)


def test_loopback_only_host() -> None:
    (error,) = problems(MINIMAL + "api:\n  host: 0.0.0.0\n")
    assert error.startswith("api.host (line 4): ")
    assert "loopback-only" in error
    assert "127.0.0.1, ::1 or localhost" in error
    assert "got '0.0.0.0'" in error


def test_duplicate_camera_ids_name_both_indexes() -> None:
    cameras = """
        storage: {path: /srv}
        cameras:
          - id: a
            main: rtsp://h/a
          - id: b
            main: rtsp://h/b
          - id: a
            main: rtsp://h/c
        """
    expected = "cameras[2].id (line 7): duplicate camera id 'a': used by cameras[0] and cameras[2]"
    assert problems(cameras) == [expected]
    # Still reported when another camera has an unrelated error (the model alone would skip it).
    broken = cameras.rstrip() + "\n          - {id: c, main: rtsp://h/d, transport: x}\n"
    assert problems(broken) == [
        expected,
        "cameras[3].transport (line 9): must be one of tcp, udp; got 'x'",
    ]


def test_duplicate_ids_rejected_by_the_model_itself() -> None:
    camera = {"id": "a", "main": "rtsp://h/a"}
    with pytest.raises(ValidationError, match="duplicate camera id 'a'"):
        Config.model_validate({"storage": {"path": "/srv"}, "cameras": [camera, camera]})


def test_stream_urls_are_checked() -> None:
    errors = problems("""
        storage: {path: /srv}
        cameras:
          - id: a
            main: http://h/a
            sub: rtsp:///nohost
          - id: b
            main: ""
        """)
    assert errors == [
        "cameras[0].main (line 4): unsupported URL scheme 'http'; use rtsp://, rtsps://, file:// "
        "or a plain local file path",
        "cameras[0].sub (line 5): rtsp:// URL has no host; expected rtsp://[user:pass@]host/path",
        "cameras[1].main (line 7): must not be empty; give an rtsp:// or rtsps:// URL or a video "
        "file path",
    ]


def test_cross_field_rules() -> None:
    errors = problems("""
        storage: {path: /srv}
        cameras:
          - id: a
            main: rtsp://h/a
            record: {mode: scheduled}
          - id: b
            main: rtsp://h/b
            record: {mode: motion}
            motion:
              enabled: false
        """)
    assert errors[0].startswith(
        "cameras[0].record.schedule (line 5): required when mode is scheduled"
    )
    assert errors[1].startswith("cameras[1].motion.enabled (line 10): must be true when")
    assert len(errors) == 2


def test_schedule_window_errors() -> None:
    errors = problems("""
        storage: {path: /srv}
        cameras:
          - id: a
            main: rtsp://h/a
            record:
              mode: scheduled
              schedule:
                - {days: [mon, funday], start: "08:00", end: "24:01"}
                - {start: "24:00", end: "06:00"}
                - {start: "10:00", end: "10:00"}
                - {days: [], start: "10:00", end: "11:00"}
        """)
    prefix = "cameras[0].record.schedule"
    assert errors == [
        f"{prefix}[0].days[1] (line 8): must be one of mon, tue, wed, thu, fri, sat, sun; "
        "got 'funday'",
        f"{prefix}[0].end (line 8): must be a time \"HH:MM\" from 00:00 to 24:00; got '24:01'",
        f"{prefix}[1].start (line 9): must be a time \"HH:MM\" from 00:00 to 23:59; got '24:00'",
        f"{prefix}[2] (line 10): start and end are both 10:00; for a whole day use start 00:00, "
        "end 24:00",
        f"{prefix}[3].days (line 11): must have at least 1 item(s); got 0",
    ]


# --- structural problems ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "\n", "# nothing but a comment\n"])
def test_empty_file(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert info.value.errors == [
        "the configuration is empty; it must at least set storage.path "
        "(see config/nvr.example.yaml)"
    ]


def test_top_level_must_be_a_mapping() -> None:
    assert problems("# header\n- storage\n- api\n") == [
        "top level (line 2): must be a mapping of the sections storage, api, logging, alarms, "
        "web, cameras; got a list"
    ]
    assert problems("just text\n")[0].endswith("got 'just text'")


def test_sections_must_be_mappings() -> None:
    assert problems("storage: /srv\napi: [1, 2]\ncameras: {a: 1}\n") == [
        "storage (line 1): must be a mapping with keys path, max_bytes, min_free_bytes, "
        "retention_check_s, require_mount, group; got '/srv'",
        "api (line 2): must be a mapping with keys host, port; got a list",
        "cameras (line 3): must be a list; got a mapping",
    ]
    (error,) = problems("storage: {path: /srv}\ncameras:\n  - rtsp://h/a\n")
    assert error.startswith("cameras[0] (line 3): must be a mapping with keys id, name, enabled")


def test_yaml_syntax_error_has_line_and_column() -> None:
    (error,) = problems("storage:\n  path: /srv\n api: 1\n")
    assert error.startswith("YAML syntax error at line 3, column 2: ")
    (error,) = problems("storage: {path: [/srv}\n")
    assert error.startswith("YAML syntax error at line 1, ")


def test_duplicate_yaml_key_is_a_syntax_error_without_credentials() -> None:
    (error,) = problems(f"""
        storage: {{path: /srv}}
        cameras:
          - id: a
            main: rtsp://admin:{SECRET}@h/a
            main: rtsp://admin:{SECRET}@h/b
        """)
    assert error.startswith('YAML syntax error at line 5, column 5: found duplicate key "main"')
    assert SECRET not in error


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "missing.yaml")
    assert info.value.errors == ["cannot read the configuration file: No such file or directory"]
    assert str(tmp_path / "missing.yaml") in str(info.value)

    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert info.value.errors[0].startswith("cannot read the configuration file: ")

    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError) as info:
        load_config(binary)
    assert info.value.errors[0].startswith("the file is not UTF-8 text")


def test_load_config_reports_the_file_path(tmp_path: Path) -> None:
    path = tmp_path / "nvr.yaml"
    path.write_text("storage: {path: /srv}\napi: {port: -1}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.source == str(path)
    assert info.value.errors == ["api.port (line 2): must be between 0 and 65535; got -1"]
    assert str(info.value).startswith(f"{path}: 1 problem(s) in the configuration:")


# --- environment variables -------------------------------------------------------------------


def test_env_expansion(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAM1_PASS", SECRET)
    monkeypatch.setenv("NVR_PORT", "9100")
    monkeypatch.setenv("EMPTY", "")
    monkeypatch.delenv("UNSET_SUB", raising=False)
    config = parse_config(
        yaml("""
        storage: {path: "${NVR_DATA:-/srv/nvr}"}
        api: {port: "${NVR_PORT}"}
        cameras:
          - id: a
            name: "${EMPTY:-Front}"
            main: rtsp://admin:${CAM1_PASS}@h/a
            sub: ${UNSET_SUB:-}
        """)
    )
    assert config.storage.path == Path("/srv/nvr")
    assert config.api.port == 9100
    cam = config.cameras[0]
    assert cam.main == f"rtsp://admin:{SECRET}@h/a"
    assert cam.name == "Front"  # like the shell, :- also replaces an empty value
    assert cam.sub is None


def test_missing_env_variable_is_reported_once_per_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("CAM1_USER", "CAM1_PASS", "NVR_PORT"):
        monkeypatch.delenv(name, raising=False)
    errors = problems("""
        storage: {path: /srv}
        api:
          port: ${NVR_PORT}
        cameras:
          - id: a
            main: rtsp://${CAM1_USER}:${CAM1_PASS}@h/a
            transport: udpp
        """)
    assert errors == [
        "api.port (line 3): environment variable NVR_PORT is not set; export it or put the value "
        "in the file",
        "cameras[0].main (line 6): environment variable CAM1_USER is not set; export it or put "
        "the value in the file",
        "cameras[0].main (line 6): environment variable CAM1_PASS is not set; export it or put "
        "the value in the file",
        "cameras[0].transport (line 7): must be one of tcp, udp; got 'udpp'",
    ]


# --- credentials -----------------------------------------------------------------------------


def test_credentials_never_appear_in_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAM_PASS", SECRET)
    text = f"""
        storage: {{path: /srv}}
        api: {{host: "rtsp://admin:{SECRET}@h"}}
        logging: {{level: "rtsp://admin:{SECRET}@h"}}
        cameras:
          - id: a
            main: http://admin:{SECRET}@h/a
            sub: rtsp://admin:${{CAM_PASS}}@/nohost
            transport: rtsp://admin:${{CAM_PASS}}@h/a
          - id: "rtsp://admin:{SECRET}@h"
            main: rtsp://admin:{SECRET}@h/a
        """
    with pytest.raises(ConfigError) as info:
        parse_config(yaml(text))
    assert len(info.value.errors) == 6
    assert SECRET not in str(info.value)
    assert any("rtsp://***@h" in e for e in info.value.errors)


def test_repr_redacts_stream_credentials() -> None:
    config = parse_config(
        yaml(f"""
        storage: {{path: /srv}}
        cameras:
          - id: a
            main: rtsp://admin:{SECRET}@h/a
            sub: rtsp://admin:{SECRET}@h/b
        """)
    )
    assert SECRET not in repr(config)
    assert SECRET not in str(config.cameras[0])
    assert SECRET in config.cameras[0].main


# --- schedule windows ------------------------------------------------------------------------


def test_window_within_a_day() -> None:
    window = ScheduleWindow(start="08:00", end="18:00")
    assert window.days == ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    assert not window.contains(at("mon", "07:59"))
    assert window.contains(at("mon", "08:00"))
    assert window.contains(at("sun", "17:59"))
    assert not window.contains(at("sun", "18:00"))


def test_window_crossing_midnight_belongs_to_its_start_day() -> None:
    window = ScheduleWindow(days=("fri",), start="22:00", end="06:00")
    assert not window.contains(at("fri", "21:59"))
    assert window.contains(at("fri", "22:00"))
    assert window.contains(at("fri", "23:59"))
    assert window.contains(at("sat", "00:00"))
    assert window.contains(at("sat", "05:59"))
    assert not window.contains(at("sat", "06:00"))
    assert not window.contains(at("sat", "22:30"))
    assert not window.contains(at("fri", "03:00"))  # that part belongs to Thursday's window


def test_window_until_24_00() -> None:
    window = ScheduleWindow(days=("sat", "sun"), start="20:00", end="24:00")
    assert window.contains(at("sat", "23:59"))
    assert not window.contains(at("sun", "00:00"))  # Saturday's window ended at midnight
    assert not window.contains(at("sun", "19:59"))
    assert window.contains(at("sun", "20:00"))
    assert not window.contains(at("mon", "20:00"))
    whole_day = ScheduleWindow(days=("wed",), start="00:00", end="24:00")
    assert whole_day.contains(at("wed", "00:00"))
    assert whole_day.contains(datetime(2024, 1, 3, 23, 59, 59))
    assert not whole_day.contains(at("thu", "00:00"))


def test_window_end_at_midnight_and_single_digit_hours() -> None:
    window = ScheduleWindow(start="22:00", end="00:00")
    assert window.contains(at("tue", "23:00"))
    assert not window.contains(at("wed", "00:00"))
    assert ScheduleWindow(start="8:00", end="9:30").start == "08:00"


def test_day_filters() -> None:
    window = ScheduleWindow(days=("mon", "wed"), start="09:00", end="10:00")
    assert window.contains(at("mon", "09:30"))
    assert not window.contains(at("tue", "09:30"))
    assert window.contains(at("wed", "09:30"))


def test_record_schedule_active() -> None:
    config = parse_config(
        yaml("""
        storage: {path: /srv}
        cameras:
          - id: a
            main: rtsp://h/a
            record:
              mode: scheduled
              schedule:
                - {days: [mon, tue, wed, thu, fri], start: "18:00", end: "07:00"}
                - {days: [sat, sun]}
        """)
    )
    record = config.cameras[0].record
    assert record.schedule[1].start == "00:00"
    assert record.schedule[1].end == "24:00"
    assert record.schedule_active(at("mon", "18:30"))
    assert record.schedule_active(at("tue", "06:59"))
    assert not record.schedule_active(at("tue", "12:00"))
    assert record.schedule_active(at("sat", "12:00"))
    assert record.schedule_active(at("sat", "06:00"))  # Friday night's window
    assert not record.schedule_active(at("mon", "06:00"))  # Sunday has no night window
    assert RecordConfig().schedule_active(at("tue", "12:00"))  # no schedule: always armed


# --- storage sizes and retention ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [
        (0, 0),
        (1234, 1234),
        (5e9, 5_000_000_000),
        ("1234", 1234),
        ("512B", 512),
        ("5GB", 5_000_000_000),
        ("5 gb", 5_000_000_000),
        (" 750 MB ", 750_000_000),
        ("1.5TiB", 1_649_267_441_664),
        ("2KiB", 2048),
        ("1PB", 10**15),
        ("0.5 PiB", 2**49),
        ("1.0000001KB", 1000),  # rounds down to whole bytes
    ],
)
def test_parse_size(text: object, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "GB", "5 G", "5XB", "1e3GB", "-5GB", "5GB5", 1.5, True, [1]])
def test_parse_size_rejects(text: object) -> None:
    with pytest.raises(ValueError, match=r'size such as "500GB" or "1.5TiB"'):
        parse_size(text)


def test_format_size() -> None:
    values = (0, 999, 1000, 1_500_000, 5 * 10**9, 1_649_267_441_664, 10**18)
    assert [format_size(v) for v in values] == [
        "0B",
        "999B",
        "1KB",
        "1.5MB",
        "5GB",
        "1.65TB",
        "1000PB",
    ]


def test_storage_and_retention_keys() -> None:
    config = parse_config(
        yaml("""
        storage:
          path: /srv
          max_bytes: "1.5TiB"
          min_free_bytes: 0
          retention_check_s: 5
        cameras:
          - id: a
            main: rtsp://h/a
            retention:
              max_days: null
              max_bytes: 200000000
              per_type_days: {motion: 60, panic: 1}
          - id: b
            main: rtsp://h/b
            retention:
          - id: c
            main: rtsp://h/c
            retention: {max_days: 7, per_type_days: null}
        """)
    )
    assert config.storage.max_bytes == 1_649_267_441_664
    assert (config.storage.min_free_bytes, config.storage.retention_check_s) == (0, 5)
    a, b, c = (cam.retention for cam in config.cameras)
    assert a.max_bytes == 200_000_000
    assert [a.days_for(t) for t in ("continuous", "motion", "panic")] == [None, 60, 1]
    assert b == RetentionConfig()
    assert c.per_type_days == TypeDays()
    assert c.days_for("manual") == 7


def test_storage_and_retention_errors_name_path_and_line() -> None:
    errors = problems("""
        storage:
          path: /srv
          max_bytes: 500
          min_free_bytes: 5 GB5
          retention_check_s: 1
        cameras:
          - id: a
            main: rtsp://h/a
            retention:
              max_days: 0
              max_bytes: -1GB
              per_type_days:
                motoin: 3
                panic: 0
          - id: b
            main: rtsp://h/b
            retention: {max_bytes: 1.5, bogus: 1, per_type_days: [1]}
          - id: c
            main: rtsp://h/c
            retention: 5
        """)
    assert errors == [
        "storage.max_bytes (line 3): must be between 1MB and 1000PB; got 500",
        "storage.min_free_bytes (line 4): must be a whole number of bytes or a size such as "
        '"500GB" or "1.5TiB" (KB, MB, GB, TB, PB: powers of 1000; KiB, MiB, GiB, TiB, PiB: '
        "powers of 1024); got '5 GB5'",
        "storage.retention_check_s (line 5): must be between 5 and 3600; got 1",
        "cameras[0].retention.max_days (line 10): must be between 1 and 36500; got 0",
        "cameras[0].retention.max_bytes (line 11): must be a whole number of bytes or a size such "
        'as "500GB" or "1.5TiB" (KB, MB, GB, TB, PB: powers of 1000; KiB, MiB, GiB, TiB, PiB: '
        "powers of 1024); got '-1GB'",
        "cameras[0].retention.per_type_days.motoin (line 13): unknown key; allowed keys are "
        "continuous, motion, scheduled, manual, panic",
        "cameras[0].retention.per_type_days.panic (line 14): must be between 1 and 36500; got 0",
        "cameras[1].retention.max_bytes (line 17): must be a whole number of bytes or a size such "
        'as "500GB" or "1.5TiB" (KB, MB, GB, TB, PB: powers of 1000; KiB, MiB, GiB, TiB, PiB: '
        "powers of 1024); got 1.5",
        "cameras[1].retention.per_type_days (line 17): must be a mapping with keys continuous, "
        "motion, scheduled, manual, panic; got a list",
        "cameras[1].retention.bogus (line 17): unknown key; allowed keys are max_days, max_bytes, "
        "per_type_days",
        "cameras[2].retention (line 20): must be a mapping with keys max_days, max_bytes, "
        "per_type_days; got 5",
    ]


def test_size_upper_bound_and_negative_bytes() -> None:
    assert problems(MINIMAL + "  min_free_bytes: 2000PB\n") == [
        "storage.min_free_bytes (line 3): must be between 0B and 1000PB; got '2000PB'"
    ]
    assert problems(MINIMAL + "  min_free_bytes: -1\n") == [
        "storage.min_free_bytes (line 3): must be between 0B and 1000PB; got -1"
    ]


def test_onvif_settings_name_the_key_at_fault_and_keep_the_password_out_of_sight() -> None:
    base = "storage: {path: /srv/nvr}\ncameras:\n  - id: ptz\n    main: rtsp://h/x\n    onvif: "
    config = parse_config(base + "{host: 10.0.0.2, username: admin, password: hunter2}\n")
    onvif = config.cameras[0].onvif
    assert onvif is not None and (onvif.port, onvif.profile, onvif.timeout_s) == (80, None, 2.0)
    assert "hunter2" not in repr(config) and "hunter2" not in str(config.model_dump(mode="json"))
    for bad, said in (
        ("{host: 'http://x/', username: a, password: b}", "onvif.host"),
        ("{host: h, port: 0, username: a, password: b}", "onvif.port"),
        ("{host: h, port: 70000, username: a, password: b}", "onvif.port"),
        ("{host: h, username: a}", "onvif.password (line 5): required key is missing"),
        ("{host: h, username: a, password: ''}", "onvif.password"),
        ("{host: h, username: a, password: b, speed: 3}", "onvif.speed (line 5): unknown key"),
        ("{host: h, username: a, password: b, timeout_s: 60}", "onvif.timeout_s"),
    ):
        with pytest.raises(ConfigError) as err:
            parse_config(base + bad + "\n")
        assert said in str(err.value), (bad, str(err.value))


def test_true_or_false_where_a_number_belongs_is_refused() -> None:
    errors = problems("""
        storage: {path: /srv}
        cameras:
          - id: a
            main: rtsp://h/a
            motion:
              threshold: true
              min_area: false
              zones: [[[0, 0], [1, false], [0.5, 1]]]
        """)
    assert errors == [
        "cameras[0].motion.threshold (line 6): must be a whole number, not true",
        "cameras[0].motion.min_area (line 7): must be a number, not false",
        "cameras[0].motion.zones[0][1][1] (line 8): must be a number, not false",
    ]


def test_a_camera_name_is_one_line_of_at_most_80_characters() -> None:
    errors = problems(f"""
        storage: {{path: /srv}}
        cameras:
          - id: a
            main: rtsp://h/a
            name: "{"x" * 50_000}"
          - id: b
            main: rtsp://h/b
            name: "gate\\nyard"
        """)
    assert errors == [
        "cameras[0].name (line 5): must be at most 80 characters; got 50000",
        "cameras[1].name (line 8): must be text on one line, without control characters",
    ]


def test_every_motion_setting_the_configuration_allows_runs_the_detector() -> None:
    """The bounds of ``motion`` agree with the detector's: a setting the file accepts never
    stops the worker at its first frame (threshold 255 or min_area 0 once did)."""
    from nvr.worker.frames import motion_params

    for name, field in MotionConfig.model_fields.items():
        limits = [getattr(m, k) for m in field.metadata for k in ("ge", "le") if hasattr(m, k)]
        for value in limits:
            motion_params(MotionConfig(**{name: value}))  # raises ValueError if refused
    errors = problems("""
        storage: {path: /srv}
        cameras:
          - id: a
            main: rtsp://h/a
            motion: {threshold: 255, min_area: 0}
        """)
    assert errors == [
        "cameras[0].motion.threshold (line 5): must be between 1 and 254; got 255",
        "cameras[0].motion.min_area (line 5): must be between 0.0001 and 1; got 0",
    ]
