"""Edits to the YAML text: only what is edited changes; comments, ``${VAR}`` references and the
admin's layout stay; a camera is named by its id; a malformed edit names itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from nvr.config import parse_config
from nvr.config_edit import Edit, apply_edits, parse_edits
from nvr.errors import RequestError

SITE = """\
# Site config: kept by hand
storage:
  path: /srv/nvr   # where footage goes
cameras:
  # the door, by the stairs
  - id: door
    name: Front door
    main: rtsp://admin:${DOOR_PW}@10.0.0.2/main
    record:
      mode: motion   # only when something moves
  - {id: yard, main: 'rtsp://10.0.0.3/main'}
"""


def test_a_value_changes_and_every_comment_stays():
    out = apply_edits(SITE, [Edit(("cameras", "door", "record", "mode"), "continuous")])
    assert out == SITE.replace("mode: motion   #", "mode: continuous #")
    assert "${DOOR_PW}" in out and "# the door, by the stairs" in out


def test_cameras_are_named_by_id_added_removed_and_keys_deleted():
    out = apply_edits(
        SITE,
        [
            Edit(("cameras", "yard", "enabled"), False),
            Edit(("cameras", "lobby"), {"main": "rtsp://10.0.0.4/main", "name": "Lobby"}),
            Edit(("cameras", "door", "name"), delete=True),
            Edit(("cameras", "ghost", "name"), delete=True),  # nothing there: nothing to do
        ],
    )
    config = parse_config(out.replace("${DOOR_PW}", "x"))
    assert [c.id for c in config.cameras] == ["door", "yard", "lobby"]
    assert not config.cameras[1].enabled and config.cameras[0].name is None
    assert "  - {id: yard, main: 'rtsp://10.0.0.3/main', enabled: false}\n" in out
    assert out.endswith("  - id: lobby\n    main: rtsp://10.0.0.4/main\n    name: Lobby\n")
    out = apply_edits(out, [Edit(("cameras", "lobby"), delete=True)])
    assert "lobby" not in out and "# the door, by the stairs" in out


def test_zones_are_written_as_points_and_sections_made_on_the_way():
    zone = [[0.1, 0.5], [0.9, 0.5], [1.0, 1.0]]
    out = apply_edits(SITE, [Edit(("cameras", "door", "motion", "zones"), [zone])])
    assert "    motion:\n      zones: [[[0.1, 0.5], [0.9, 0.5], [1.0, 1.0]]]\n" in out
    config = parse_config(out.replace("${DOOR_PW}", "x"))
    assert config.cameras[0].motion.zones == (tuple(map(tuple, zone)),)


def test_null_is_written_as_null_and_the_example_config_round_trips():
    example = (Path(__file__).parents[1] / "config" / "nvr.example.yaml").read_text()
    out = apply_edits(example, [Edit(("storage", "min_free_bytes"), "6GB")])
    changed = [
        (a, b) for a, b in zip(example.splitlines(), out.splitlines(), strict=True) if a != b
    ]
    assert changed == [("  min_free_bytes: 5GB", "  min_free_bytes: 6GB")]
    out = apply_edits(out, [Edit(("logging", "dir"), None)])
    assert "  dir: null\n" in out


def test_a_section_replaced_whole_keeps_the_comments_of_keys_that_stay():
    out = apply_edits(
        SITE, [Edit(("cameras", "door", "record"), {"mode": "motion", "pre_roll_s": 3})]
    )
    assert "mode: motion   # only when something moves\n      pre_roll_s: 3\n" in out


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        ("nope", "must be a list"),
        ([], "must be a list"),
        ([{"path": ["a"]}], "either a value or delete"),
        ([{"path": [], "value": 1}], "path must be"),
        ([{"path": ["a", True], "value": 1}], "path must be"),
        ([{"path": ["a"], "value": 1, "extra": 2}], "must be {path, value}"),
        ([{"path": ["a"], "value": 1, "delete": True}], "either a value or delete"),
        ([{"path": ["cameras"], "delete": True}], "cameras one by one"),
        ([{"path": ["a", "b"], "value": 1}, {"path": ["a", "b"], "value": 2}], "edited twice"),
        ([{"path": ["cameras", "x", "name"], "value": "${HOME}"}], "environment variables"),
        ([{"path": ["cameras", "x"], "value": {"main": "rtsp://***@h/x"}}], "password hidden"),
        ([{"path": ["cameras", "x", "main"], "value": "rtsp://h/x?password=***"}], "hidden"),
    ],
)
def test_malformed_edits_are_refused_by_name(edits, message):
    with pytest.raises(RequestError, match=message):
        parse_edits(edits)


def test_an_edit_that_cannot_apply_names_its_path():
    with pytest.raises(RequestError, match=r"storage\.path\.x: its parent is a value"):
        apply_edits(SITE, [Edit(("storage", "path", "x"), 1)])
    with pytest.raises(RequestError, match="a new camera is a section whose id is 'cam'"):
        apply_edits(SITE, [Edit(("cameras", "cam"), {"id": "other", "main": "x"})])
    with pytest.raises(RequestError, match="not valid YAML now"):
        apply_edits("storage: [\n", [Edit(("storage", "path"), "/x")])


def test_an_edit_inside_a_section_shared_through_an_anchor_is_refused():
    text = (
        "storage: {path: /x}\ncameras:\n  - id: a\n    main: rtsp://h/a\n    record: &rec\n"
        "      segment_s: 10\n  - id: b\n    main: rtsp://h/b\n    record: *rec\n"
    )
    with pytest.raises(RequestError, match=r"cameras\.b\.record: .*anchor \(&rec\)"):
        apply_edits(text, [Edit(("cameras", "b", "record", "segment_s"), 20)])
    out = apply_edits(text, [Edit(("cameras", "b", "main"), "rtsp://h/c")])
    assert "record: *rec" in out and "rtsp://h/c" in out


def test_credentials_in_a_query_string_are_redacted_too():
    from nvr.redact import redact_url

    url = "rtsp://admin:pw@h/x?user=admin&password=s3cret&channel=1"
    assert redact_url(url) == "rtsp://***@h/x?user=admin&password=***&channel=1"
