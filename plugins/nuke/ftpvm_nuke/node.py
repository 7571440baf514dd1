"""The Nuke adapter of FTPVMMatte: builds the Group, reads its knobs, renders through Write nodes.

Decisions live in ``plan``; the work of Process lives in ``process``. This file only talks to Nuke
(knobs, nodes, ``nuke.execute``, ``ProgressTask``, ``message``) and creates the client. Process runs in a
worker thread (the network, up to minutes) and hands every node and UI call to Nuke's main thread with
``nuke.executeInMainThread``/``executeInMainThreadWithResult``, as Foundry's Python threading examples do.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import traceback
from typing import Any, Callable, Dict, Optional

import nuke
from ftpvm_wire.schema import advertised

from . import exr, guides, messages, plan
from . import process as processing

CLASS_LABEL = "FTPVMMatte"
DEFAULT_SERVER = "localhost:50051"
INPUT_SOURCE, INPUT_ROTO = 0, 1
FG_LAYER = "ftpvm_fg"
PASS_LAYER = "ftpvm"
PASS_READS = ("alpha", "foreground", "trimap", "boundary")
#: The node's label (shown under it in the node graph) until a Process has written results.
NOT_PROCESSED = "not processed: plate passes through; set keyframes, then press Process"
BUTTON = "import ftpvm_nuke.node as _f; _f.on_button(nuke.thisNode(), {!r})"


# ----------------------------------------------------------------------------- creation
def _unique_name(base: str) -> str:
    i = 1
    while nuke.toNode(f"{base}{i}") is not None:
        i += 1
    return f"{base}{i}"


def advertised_schema(address: str = DEFAULT_SERVER) -> Any:
    """The settings schema the server at ``address`` advertises, or the shipped snapshot when it cannot be asked."""
    try:
        with _probe(address) as client:
            return advertised(client.info().settings_schema)
    except Exception:  # noqa: BLE001 - no server while building the UI: the snapshot's defaults serve
        return advertised(None)


def create() -> Any:
    """Create an FTPVMMatte node connected to the selected node (the menu command).

    Its settings knobs take their defaults, choices and ranges from the schema the server at
    DEFAULT_SERVER advertises (the shipped snapshot when no server answers).
    """
    nuke.Layer(FG_LAYER, [f"{FG_LAYER}.red", f"{FG_LAYER}.green", f"{FG_LAYER}.blue"])
    nuke.Layer(PASS_LAYER, [f"{PASS_LAYER}.trimap", f"{PASS_LAYER}.boundary"])
    selected = nuke.selectedNodes()
    group = nuke.createNode("Group", inpanel=False)
    group.setName(_unique_name(CLASS_LABEL))
    group["tile_color"].setValue(0x6B4FA0FF)
    _add_knobs(group, advertised_schema())
    _build_internals(group)
    group["knobChanged"].setValue("import ftpvm_nuke.node as _f; _f.on_knob_changed(nuke.thisNode(), nuke.thisKnob())")
    if selected and group.input(INPUT_SOURCE) is None:
        group.setInput(INPUT_SOURCE, selected[-1])
    group["shot_id"].setValue(plan.default_shot_id(nuke.root()["name"].value(), group.name()))
    _sync(group)
    return group


def _button(name: str, label: str) -> Any:
    return nuke.PyScript_Knob(name, label, BUTTON.format(name))


def _setting_knob(g: Any, schema: Any, name: str, label: str) -> None:
    """A knob for one shot setting: an enumeration of its choices, or a number knob with its range."""
    field = schema.field(name)
    knob: Any
    if field.choices is not None:
        knob = nuke.Enumeration_Knob(name, label, [str(c) for c in field.choices])
    else:
        knob = nuke.Int_Knob(name, label) if field.type == "int" else nuke.Double_Knob(name, label)
        if field.type != "int" and field.minimum is not None and field.maximum is not None:
            knob.setRange(field.minimum, field.maximum)
    g.addKnob(knob)
    knob.setValue(field.default)
    knob.setTooltip(field.help)


def _add_knobs(g: Any, schema: Any) -> None:
    root: Any = nuke.root()
    k = g.addKnob
    k(nuke.Tab_Knob("ftpvm", "FTPVM"))
    k(nuke.String_Knob("server", "server", DEFAULT_SERVER))
    k(_button("check", "check"))
    k(nuke.Text_Knob("status", "status", "not checked yet: press 'check'"))
    k(nuke.String_Knob("shot_id", "shot id"))
    k(_button("default_shot_id", "default"))
    spaces = root["workingSpaceLUT"].values()
    k(nuke.Enumeration_Knob("colorspace", "input colour space", spaces))
    g["colorspace"].setValue(root["workingSpaceLUT"].value())
    k(nuke.Text_Knob("kf_divider", "<b>keyframes</b>", ""))
    k(nuke.Enumeration_Knob("trimap_mode", "trimap from", list(plan.TRIMAP_MODES)))
    k(nuke.Double_Knob("band", "band (px)"))
    g["band"].setValue(float(schema.default_of("roto_band")))
    g["band"].setTooltip(schema.help_of("roto_band"))
    for name, label, default in (("roto_channel", "roto channel", "alpha"), ("inner_channel", "inner", "red"),
                                 ("outer_channel", "outer", "alpha")):
        k(nuke.Enumeration_Knob(name, label, list(plan.CHANNELS)))
        g[name].setValue(default)
    k(_button("set_keyframe", "set keyframe"))
    k(_button("remove_keyframe", "remove keyframe"))
    k(nuke.Text_Knob("keyframe_list", "keyframes", plan.format_keyframe_list({})))
    k(nuke.Multiline_Eval_String_Knob("keyframes_data", "keyframe records"))
    g["keyframes_data"].setFlag(nuke.INVISIBLE)
    k(nuke.Double_Knob("keyframe_marks", "timeline marks"))   # animated: its keys show on the timeline
    g["keyframe_marks"].setTooltip("A key at every keyframe, so the timeline shows them; edit keyframes with "
                                   "the buttons above.")
    k(nuke.Text_Knob("q_divider", "<b>quality and outputs</b>", ""))
    k(nuke.Enumeration_Knob("downsample", "downsample", ["auto", "ratio"]))
    k(nuke.Double_Knob("ratio", "ratio"))
    ratio = schema.default_of("downsample_ratio")
    g["downsample"].setValue("auto" if ratio == "auto" else "ratio")
    g["ratio"].setValue(0.5 if ratio == "auto" else float(ratio))
    g["ratio"].setRange(*schema.range_of("downsample_ratio"))
    for name in plan.SETTING_KNOBS:
        _setting_knob(g, schema, name, name.replace("_", " "))
    k(nuke.Boolean_Knob("output_fg", "foreground", True))
    k(nuke.Enumeration_Knob("fg_target", "foreground into", list(plan.FG_TARGETS)))
    k(nuke.Boolean_Knob("premult", "premultiply", False))
    k(nuke.Boolean_Knob("output_trimap", "trimap pass", False))
    k(nuke.Boolean_Knob("output_boundary", "boundary pass", False))
    k(nuke.Int_Knob("first", "frame range"))
    k(nuke.Int_Knob("last", ""))
    g["first"].setValue(root.firstFrame())
    g["last"].setValue(root.lastFrame())
    k(nuke.Enumeration_Knob("transfer", "transfer", list(plan.TRANSFERS)))
    k(nuke.File_Knob("cache_dir", "cache folder"))
    k(_button("process", "Process"))
    k(_button("clear_cache", "clear cache"))


def _build_internals(g: Any) -> None:
    with g:
        source = nuke.nodes.Input(name="Source")
        roto = nuke.nodes.Input(name="Roto")
        for name, upstream, channels in (("Write_source", source, "rgb"), ("Write_key_source", source, "rgb"),
                                         ("Write_roto", roto, "rgba")):
            w = nuke.nodes.Write(name=name, inputs=[upstream], channels=channels, file_type="exr",
                                 datatype="32 bit float", create_directories=True, raw=True)
            w["compression"].setValue("none")
            w["disable"].setValue(True)   # enabled only while the node renders: farms must not run it
        reads = {p: nuke.nodes.Read(name=f"Read_{p}", raw=True) for p in PASS_READS}
        c_alpha = nuke.nodes.Copy(name="Copy_alpha", inputs=[source, reads["alpha"]])
        c_fg = nuke.nodes.Copy(name="Copy_foreground", inputs=[c_alpha, reads["foreground"]])
        c_tri = nuke.nodes.Copy(name="Copy_trimap", inputs=[c_fg, reads["trimap"]], from0="rgba.red",
                                to0=f"{PASS_LAYER}.trimap")
        c_bnd = nuke.nodes.Copy(name="Copy_boundary", inputs=[c_tri, reads["boundary"]], from0="rgba.red",
                                to0=f"{PASS_LAYER}.boundary")
        last = nuke.nodes.Premult(name="Premult", inputs=[c_bnd])
        for name in plan.VIEWER_MESSAGES:   # drawn over the image in the Viewer only (see _show_viewer_messages)
            last = nuke.nodes.Text2(name=f"Viewer_{name}", inputs=[last], output="rgba", xjustify="center",
                                    yjustify="top" if name == "failed" else "center", global_font_scale=0.4)
            last["disable"].setValue(True)
        nuke.nodes.Output(name="Output", inputs=[last])


def render(write: Any, frame: int) -> None:
    """Render one frame through an internal Write node (disabled the rest of the time)."""
    write["disable"].setValue(False)
    try:
        nuke.execute(write, frame, frame)
    finally:
        write["disable"].setValue(True)


# ----------------------------------------------------------------------------- knobs -> state
def _records(g: Any) -> Dict[int, plan.KeyframeRecord]:
    return plan.keyframes_from_text(g["keyframes_data"].value())


def _cache_root(g: Any) -> str:
    chosen = g["cache_dir"].value().strip()
    fallback = os.path.join(tempfile.gettempdir(), "ftpvm_cache")
    return chosen or plan.default_cache_root(nuke.root()["name"].value(), fallback)


def _shot_id(g: Any) -> str:
    shot_id = g["shot_id"].value().strip()
    if not shot_id:
        shot_id = plan.default_shot_id(nuke.root()["name"].value(), g.name())
        g["shot_id"].setValue(shot_id)
    return plan.check_shot_id(shot_id)


def _passes(g: Any) -> tuple:
    return plan.passes_for(bool(g["output_fg"].value()), bool(g["output_trimap"].value()),
                           bool(g["output_boundary"].value()))


def read_state(g: Any, server_colorspaces: tuple = (), schema: Any = None) -> plan.NodeState:
    """The node's knobs and inputs as a NodeState (PlanError for anything the artist must fix).

    Settings are checked against ``schema`` (the server's; the shipped snapshot when None).
    """
    source = g.input(INPUT_SOURCE)
    if source is None:
        raise plan.PlanError("Connect the plate to the Source input.")
    first, last = int(g["first"].value()), int(g["last"].value())
    if last < first:
        raise plan.PlanError(f"The frame range {first}-{last} ends before it starts: fix 'frame range'.")
    fmt = source.format()
    # a node saved before a setting had a knob leaves it to the server's default
    values = {name: g[name].value() for name in plan.SETTING_KNOBS if g.knob(name) is not None}
    values["downsample_ratio"] = plan.downsample_setting(g["downsample"].value(), float(g["ratio"].value()))
    settings = plan.shot_settings(schema or advertised(None), values)
    return plan.NodeState(
        address=g["server"].value().strip() or DEFAULT_SERVER, shot_id=_shot_id(g),
        colorspace=plan.server_colorspace(g["colorspace"].value(), server_colorspaces),
        width=fmt.width(), height=fmt.height(), first=first, last=last, keyframes=_records(g),
        settings=settings, passes=_passes(g), cache_root=_cache_root(g), transfer=g["transfer"].value(),
        source_fingerprint=source_fingerprint(source))


def source_fingerprint(source: Any) -> str:
    """A cheap digest of what the Source input is made of, without rendering it.

    Every node upstream (into groups too) by class, name and non-default knobs as Nuke saves them
    (``writeKnobs(WRITE_NON_DEFAULT_ONLY | TO_SCRIPT)``: a new plate version, a denoise or retime setting, an
    animation), and for each Read the size and modification time of every file in its range (a plate
    re-rendered in place). Reading knobs and stat-ing files costs milliseconds; hashing rendered pixels would
    cost a render of the whole range on every Process.
    """
    parts = []
    seen = set()
    todo = [source]
    while todo:
        n = todo.pop()
        if n is None or id(n) in seen:
            continue
        seen.add(id(n))
        parts.append(f"{n.Class()} {n.fullName()} {n.writeKnobs(nuke.WRITE_NON_DEFAULT_ONLY | nuke.TO_SCRIPT)}")
        if n.Class() == "Read":
            parts.extend(_file_stats(n["file"].value(), int(n["first"].value()), int(n["last"].value())))
        todo.extend(n.input(i) for i in range(n.inputs()))
        if hasattr(n, "nodes"):
            todo.extend(n.nodes())
    return plan.digest(sorted(parts))


def _file_stats(pattern: str, first: int, last: int) -> list:
    from ftpvm_wire.sequences import expand, is_sequence

    paths = [expand(pattern, f) for f in range(first, last + 1)] if is_sequence(pattern) else [pattern]
    out = []
    for path in paths:
        try:
            st = os.stat(path)
            out.append(f"{path} {st.st_size} {st.st_mtime_ns}")
        except OSError:
            out.append(f"{path} missing")
    return out


def _probe(address: str) -> Any:
    """A client that answers or fails at once (no retries): for asking while the UI is built."""
    from ftpvm_client import Client
    from ftpvm_client.retry import NO_RETRY

    return Client(address, timeout=2.0, retry=NO_RETRY)


def _client(address: str, quick: bool = False) -> Any:
    from ftpvm_client import Client, RetryPolicy

    retry = RetryPolicy(attempts=2, total=3.0) if quick else None
    return Client(address, timeout=10.0 if quick else 120.0, retry=retry)


# ----------------------------------------------------------------------------- state -> internals
def _sync(g: Any) -> None:
    """Point the internal Write/Read nodes at the shot's cache and wire outputs to the knobs."""
    paths = plan.CachePaths(_cache_root(g), g["shot_id"].value().strip() or "untitled")
    first, last = int(g["first"].value()), int(g["last"].value())
    for name, kind in (("Write_source", "source"), ("Write_key_source", "key_source"), ("Write_roto", "roto")):
        g.node(name)["file"].setValue(paths.pattern(kind))
    passes = _passes(g)
    for p in PASS_READS:
        read = g.node(f"Read_{p}")
        read["file"].setValue(paths.pattern(p))
        read["first"].setValue(first)
        read["last"].setValue(max(first, last))
        for side in ("before", "after"):
            read[side].setValue("black")   # outside the processed range: no matte (Read's default holds one)
        # A frame of the range not processed yet: black in the GUI (the Viewer says why), but a render without the
        # GUI (a farm, `nuke -x`) fails on it rather than writing a black matte. The pulldown's expression is its item
        # index ("error", "black", ...); $gui is 1 in the GUI and 0 in such renders (Foundry support Q100349).
        read["on_error"].setExpression("$gui")
        read["reload"].execute()
    manifest = plan.Manifest.load(paths.manifest, paths.shot_id)
    processed = bool(manifest.frames)
    g["label"].setValue("" if processed else NOT_PROCESSED)
    _show_viewer_messages(g, manifest)
    g.node("Copy_alpha")["disable"].setValue(not processed)   # before the first Process: the plate passes through
    fg_rgb = g["fg_target"].value() == "rgb"
    fg_layer = "rgba" if fg_rgb else FG_LAYER
    copy_fg = g.node("Copy_foreground")
    for i, c in enumerate(("red", "green", "blue")):
        copy_fg[f"from{i}"].setValue(f"rgba.{c}")
        copy_fg[f"to{i}"].setValue(f"{fg_layer}.{c}")
    copy_fg["disable"].setValue(not processed or "foreground" not in passes)
    g.node("Copy_trimap")["disable"].setValue(not processed or "trimap" not in passes)
    g.node("Copy_boundary")["disable"].setValue(not processed or "boundary" not in passes)
    premult = g.node("Premult")
    premult["channels"].setValue("rgb" if fg_rgb else FG_LAYER)
    premult["disable"].setValue(not (processed and g["premult"].value() and "foreground" in passes))
    for name in ("band", "roto_channel"):
        g[name].setVisible(g["trimap_mode"].value() in ("roto", "trimap") if name == "roto_channel"
                           else g["trimap_mode"].value() == "roto")
    for name in ("inner_channel", "outer_channel"):
        g[name].setVisible(g["trimap_mode"].value() == "inner_outer")
    g["ratio"].setVisible(g["downsample"].value() == "ratio")


def _show_viewer_messages(g: Any, manifest: plan.Manifest) -> None:
    """Switch the Viewer messages on where they apply: nothing processed, frames not processed, frames out of
    date. Out of date compares each result's signature with the node's now (unknown while the node cannot be
    read: no Source, a bad knob); an upstream edit shows once the node next syncs (a knob change, Process)."""
    signature: Optional[str] = None
    try:
        state = read_state(g)
        signature = state.frame_signature(state.first)
    except (plan.PlanError, RuntimeError, ValueError):
        pass
    for name, (text, shown) in plan.viewer_messages(manifest.frames, signature).items():
        _show_message(g.node(f"Viewer_{name}"), text, plan.disable_expression(shown))


def _show_message(text_node: Any, text: str, disable: Optional[str]) -> None:
    """Set a message node's text and where it shows (``disable``: an expression; None: hidden)."""
    text_node["message"].setValue(text)
    knob = text_node["disable"]
    knob.clearAnimated()
    if disable is None:
        knob.setValue(True)
    else:
        knob.setExpression(disable)


def show_failure_in_viewer(g: Any, explanation: Optional[str]) -> None:
    """Show a failed Process's ``explanation`` over the image on every frame (None: hide it)."""
    if explanation is None:
        _show_message(g.node("Viewer_failed"), "", None)
    else:
        _show_message(g.node("Viewer_failed"), plan.failed_message(explanation),
                      plan.disable_expression(plan.EVERYWHERE))


def _show_keyframes(g: Any, records: Dict[int, plan.KeyframeRecord]) -> None:
    g["keyframes_data"].setValue(plan.keyframes_to_text(records))
    g["keyframe_list"].setValue(plan.format_keyframe_list(records))
    marks = g["keyframe_marks"]
    marks.clearAnimated()
    if not records:
        return
    # setValueAt keys only an animated knob (Foundry, Array_Knob.setValueAt); setAnimated keys the current frame
    marks.setAnimated()
    for f in sorted(records):
        marks.setValueAt(1.0, float(f))
    if int(nuke.frame()) not in records:
        marks.removeKeyAt(float(nuke.frame()))


# ----------------------------------------------------------------------------- actions
def set_keyframe(g: Any, frame: Optional[int] = None) -> plan.KeyframeRecord:
    """Render Source and Roto at ``frame`` (default: the current frame) and record it as a keyframe."""
    frame = int(nuke.frame() if frame is None else frame)
    if g.input(INPUT_ROTO) is None:
        raise plan.PlanError("Connect a roto (or a matte, or a trimap) to the Roto input first.")
    if g.input(INPUT_SOURCE) is None:
        raise plan.PlanError("Connect the plate to the Source input.")
    src_fmt, roto_fmt = g.input(INPUT_SOURCE).format(), g.input(INPUT_ROTO).format()
    if (src_fmt.width(), src_fmt.height()) != (roto_fmt.width(), roto_fmt.height()):
        raise plan.PlanError(f"The Roto input is {roto_fmt.width()}x{roto_fmt.height()} but the Source is "
                             f"{src_fmt.width()}x{src_fmt.height()}: reformat the roto to the plate's format.")
    _shot_id(g)
    _sync(g)
    paths = plan.CachePaths(_cache_root(g), g["shot_id"].value())
    render(g.node("Write_key_source"), frame)
    render(g.node("Write_roto"), frame)
    mode = g["trimap_mode"].value()
    planes = guides.guide(mode, exr.read(paths.path("roto", frame)), frame, g["roto_channel"].value(),
                          g["inner_channel"].value(), g["outer_channel"].value())
    exr.write(paths.path("key_guide", frame), planes, "float")
    band = float(g["band"].value()) if mode == "roto" else 0.0
    with open(paths.path("key_source", frame), "rb") as s, open(paths.path("key_guide", frame), "rb") as t:
        digest = plan.keyframe_digest(mode, band, s.read(), t.read())
    record = plan.KeyframeRecord(frame, mode, band, digest)
    records = _records(g)
    records[frame] = record
    _show_keyframes(g, records)
    _sync(g)   # a new keyframe puts the processed frames out of date
    return record


def remove_keyframe(g: Any, frame: Optional[int] = None) -> None:
    """Forget the keyframe at ``frame`` (default: the current frame); the server follows on Process."""
    frame = int(nuke.frame() if frame is None else frame)
    records = _records(g)
    if frame not in records:
        have = ", ".join(str(f) for f in sorted(records)) or "none"
        raise plan.PlanError(f"There is no keyframe at frame {frame} (keyframes: {have}).")
    del records[frame]
    _show_keyframes(g, records)
    _sync(g)


def check(g: Any) -> str:
    """Ask the server for its facts and show them on the status line."""
    address = g["server"].value().strip() or DEFAULT_SERVER
    with _client(address, quick=True) as client:
        info = client.info()
    transfer = plan.choose_transfer("auto", _cache_root(g), info.path_mode, info.allowed_roots)
    if g["transfer"].value() != "auto":
        transfer = g["transfer"].value()
    line = messages.status_line(info, transfer)
    g["status"].setValue(line)
    return line


class ProcessJob:
    """A Process running in its worker thread. ``done()`` once its result is on the node (main thread);
    then ``report`` is set, or ``error`` (already shown to the artist)."""

    def __init__(self, task: Any) -> None:
        self.task: Any = task           # the ProgressTask; dropped when done (Nuke closes the bar)
        self.report: Optional[processing.ProcessReport] = None
        self.error: Optional[BaseException] = None
        self.thread: Optional[threading.Thread] = None
        self._done = threading.Event()

    def done(self) -> bool:
        return self._done.is_set()

    def finish(self, g: Any, info: Any = None) -> None:
        """On the main thread: show the outcome on the node, close the progress bar."""
        self.task = None
        try:
            if self.error is not None:
                show_failure_in_viewer(g, show_failure(g, self.error))
            elif self.report is not None:
                _sync(g)
                g["status"].setValue(messages.status_line(info, self.report.transfer) + " | " + self.report.summary())
                if self.report.cancelled:
                    nuke.message(f"{CLASS_LABEL}: {self.report.summary()}")
        finally:
            self._done.set()


def _on_main(call: Callable[..., Any], *args: Any) -> Any:
    """Run ``call`` on Nuke's main thread and return its result (node and knob work is not thread-safe)."""
    return nuke.executeInMainThreadWithResult(call, args)


def _prepare(g: Any, info: Any) -> plan.NodeState:
    state = read_state(g, info.colorspaces, advertised(info.settings_schema))
    _sync(g)
    return state


def process(g: Any) -> ProcessJob:
    """Process the frame range (the Process button): starts a worker thread and returns at once.

    The worker asks the server, reads the node's state and renders the Source frames through the main thread,
    and streams frames to the server itself; the ProgressTask's Cancel is watched during the stream too.
    """
    address = g["server"].value().strip() or DEFAULT_SERVER
    g["status"].setValue(f"connecting to {address} ...")
    show_failure_in_viewer(g, None)
    job = ProcessJob(nuke.ProgressTask(f"{CLASS_LABEL}: {g['shot_id'].value()}"))
    task = job.task

    def progress(fraction: float, text: str) -> None:
        task.setProgress(int(round(fraction * 100)))
        task.setMessage(text)

    def work() -> None:
        info = None
        try:
            with _client(address, quick=True) as probe:
                info = probe.info()
            state = _on_main(_prepare, g, info)
            with _client(address) as client:
                job.report = processing.run(state, client, lambda f: _on_main(_render_source, g, f), progress,
                                            task.isCancelled)
        except Exception as exc:  # noqa: BLE001 - shown to the artist on the main thread
            job.error = exc
        nuke.executeInMainThread(job.finish, (g, info))

    job.thread = threading.Thread(target=work, name=f"{CLASS_LABEL} {g.name()}", daemon=True)
    job.thread.start()
    return job


def _render_source(g: Any, frame: int) -> None:
    render(g.node("Write_source"), frame)


def clear_cache(g: Any) -> int:
    """Delete this shot's rendered plates and results (keyframes stay); reset the server's cache if reachable."""
    paths = plan.CachePaths(_cache_root(g), _shot_id(g))
    removed = 0
    for kind in ("source", "roto") + PASS_READS:
        folder = os.path.dirname(paths.pattern(kind))
        if os.path.isdir(folder):
            removed += len(os.listdir(folder))
            shutil.rmtree(folder)
    manifest = plan.Manifest.load(paths.manifest, paths.shot_id)
    manifest.frames.clear()
    manifest.passes.clear()
    if os.path.isdir(paths.shot_dir):
        manifest.save(paths.manifest)
    try:
        with _client(g["server"].value().strip() or DEFAULT_SERVER, quick=True) as client:
            client.shot(paths.shot_id).reset_cache()
    except Exception:  # noqa: BLE001 - the server is optional here: local files are what Nuke reads
        pass
    _sync(g)
    g["status"].setValue(f"cache cleared: {removed} file(s) removed; keyframes kept")
    return removed


#: Knobs whose change rewires the internals, shows/hides other knobs, or puts results out of date; plus Nuke's
#: dummy knobs for a changed input and an opened panel (Foundry, nuke.addKnobChanged), so that a new Source, or
#: an upstream edit seen when the panel opens, updates the Viewer messages.
SYNC_KNOBS = ("trimap_mode", "downsample", "output_fg", "fg_target", "premult", "output_trimap", "output_boundary",
              "shot_id", "cache_dir", "first", "last", "ratio", "colorspace", "inputChange",
              "showPanel") + plan.SETTING_KNOBS


def on_knob_changed(g: Any, knob: Any) -> None:
    """The group's knobChanged: keep internals and knob visibility in step with the panel."""
    if knob is not None and knob.name() in SYNC_KNOBS:
        try:
            _sync(g)
        except Exception as exc:  # noqa: BLE001 - never a traceback while the artist edits knobs
            nuke.message(messages.explain(exc))


def _default_shot_id(g: Any) -> str:
    """The 'default' button: the shot id derived from the script and node names."""
    g["shot_id"].setValue("")
    shot_id = _shot_id(g)
    _sync(g)
    return shot_id


ACTIONS: Dict[str, Callable[[Any], Any]] = {
    "check": check, "process": process, "clear_cache": clear_cache,
    "set_keyframe": lambda g: set_keyframe(g), "remove_keyframe": lambda g: remove_keyframe(g),
    "default_shot_id": lambda g: _default_shot_id(g),
}


def on_button(g: Any, action: str) -> Any:
    """Run a button's action; any failure becomes one Nuke message that says what to do."""
    try:
        return ACTIONS[action](g)
    except Exception as exc:  # noqa: BLE001 - the artist gets a message, the Script Editor the details
        show_failure(g, exc)
        return None


def show_failure(g: Any, exc: BaseException) -> str:
    """One Nuke message that says what to do (details of unexpected errors go to the Script Editor); returns it."""
    text = messages.explain(exc, g["server"].value().strip() or DEFAULT_SERVER)
    if type(exc).__name__ == "Unavailable" and "status" in g.knobs():
        g["status"].setValue("not connected: server unreachable")
    if not isinstance(exc, plan.PlanError) and type(exc).__module__.split(".")[0] != "ftpvm_client":
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    nuke.message(text)
    return text
