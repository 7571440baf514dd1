"""A faithful fake of the parts of Nuke's ``nuke`` module the FTPVM plugin uses.

Signatures follow Nuke's Python API (as listed by the unofficial ``types-nuke`` stubs). Behaviour is
modelled where it matters to the plugin:

- nodes live in groups; ``createNode``/``nuke.nodes.X`` create them in the current group with unique
  names (``Read1``); ``node['missing']`` raises NameError, ``node.knob('missing')`` is None;
- images really flow: Read nodes read EXRs through OpenImageIO (a missing frame raises the error a
  viewer would show), Constant, Input/Output, Group, Copy and Premult compute pixels, and
  ``nuke.execute`` on a Write node renders its input to EXR files through OpenImageIO;
- ``execute`` on a non-Write node, or into a missing folder without ``create_directories``, fails
  like Nuke does (RuntimeError);
- ``ProgressTask`` can be cancelled by a test (``cancel_at_progress``), ``message`` records what
  the artist would see in ``messages``;
- host facts from Foundry's documents, each cited where it is encoded: string knobs evaluate TCL in
  ``value()``; ``setValueAt`` keys only an animated knob; Read's ``before``/``after``; Write's EXR data window
  is the bounding box and its display window the format; images carry a bounding box (Crop); node and knob
  calls off the main thread fail, ``executeInMainThread``/``WithResult`` queue work for the main thread, which
  a test runs with :func:`run_main_loop` (Nuke's event loop); knob expressions (``setExpression``: ``[frame]``,
  ``$gui``, comparisons, ``&&``/``||``/``!``); a Text2 node draws its TCL-evaluated ``message`` (recorded in the
  image's ``texts``: the fake draws no glyphs) unless disabled; ``env['gui']`` False is a render without the GUI.

Tests call :func:`reset` between cases.
"""
from __future__ import annotations

import os
import queue
import re
import sys
import threading
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import OpenImageIO as oiio

from ftpvm_wire.sequences import expand, is_sequence

env: Dict[str, Any] = {"NukeVersionMajor": 15, "NukeVersionMinor": 1, "ExecutablePath": sys.executable,
                       "gui": True}
NUKE_VERSION_MAJOR = 15
NUKE_VERSION_STRING = "15.1v1"

# knob flags (values as in Nuke)
INVISIBLE = 0x0000000000000400
STARTLINE = 0x0000000000001000
ENDLINE = 0x0000000000002000
DISABLED = 0x0000000000000080
NO_ANIMATION = 0x0000000000000100
WRITE_NON_DEFAULT_ONLY = 0x10   # Node.writeKnobs flags (values are the fake's own)
TO_SCRIPT = 0x1


class CancelledError(Exception):
    """Raised by execute when the user cancels (as Nuke's own CancelledError)."""


# ----------------------------------------------------------------------------- recorded UI
messages: List[str] = []
progress_log: List[Tuple[str, str, int]] = []
cancel_at_progress: Optional[int] = None   # tests: a ProgressTask reports cancelled once progress reaches this
plugin_paths: List[str] = []
execute_log: List[Tuple[str, int, int]] = []


def message(prompt: str) -> None:
    """Show a modal message to the artist (recorded in ``messages``)."""
    if not isinstance(prompt, str):
        raise TypeError("message() argument must be str")
    messages.append(prompt)


def critical(prompt: str) -> None:
    messages.append(prompt)


class ProgressTask:
    """A progress bar with a Cancel button."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._progress = 0
        self._message = ""
        progress_log.append((name, "start", 0))

    def setMessage(self, text: str) -> None:
        self._message = str(text)
        progress_log.append((self._name, self._message, self._progress))

    def setProgress(self, value: int) -> None:
        if not isinstance(value, int):
            raise TypeError("setProgress() argument must be int")
        self._progress = max(0, min(100, value))
        progress_log.append((self._name, self._message, self._progress))

    def isCancelled(self) -> bool:
        return cancel_at_progress is not None and self._progress >= cancel_at_progress

    def __del__(self) -> None:  # Nuke closes the bar when the task object goes away
        pass


# ----------------------------------------------------------------------------- layers and channels
_layers: Dict[str, List[str]] = {"rgba": ["rgba.red", "rgba.green", "rgba.blue", "rgba.alpha"],
                                 "rgb": ["rgba.red", "rgba.green", "rgba.blue"], "alpha": ["rgba.alpha"]}


class Layer:
    """``nuke.Layer(name, [channels])`` adds a layer to the script."""

    def __init__(self, name: str, channels: Sequence[str]) -> None:
        for c in channels:
            if not c.startswith(name + "."):
                raise ValueError(f"channel {c!r} does not belong to layer {name!r}")
        _layers[name] = list(channels)
        self._name = name

    def name(self) -> str:
        return self._name

    def channels(self) -> List[str]:
        return list(_layers[self._name])


def layers(node: Any = None) -> List[str]:
    return sorted(_layers)


def channels(node: Any = None) -> List[str]:
    return sorted({c for cs in _layers.values() for c in cs})


def _channel_set(spec: str) -> List[str]:
    if spec in ("all", "rgba"):
        return list(_layers["rgba"]) if spec == "rgba" else sorted({c for cs in _layers.values() for c in cs})
    if spec in _layers:
        return list(_layers[spec])
    if "." in spec:
        return [spec]
    raise ValueError(f"unknown channel set {spec!r}")


# ----------------------------------------------------------------------------- knobs
class Knob:
    """Base knob: a name, a label, flags, a value, optional animation keys."""

    _default: Any = None

    def __init__(self, name: str, label: Optional[str] = None, *args: Any) -> None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"invalid knob name {name!r}")
        self._name, self._label = name, label if label is not None else name
        self._value = self._default
        self._flags = 0
        self._keys: Dict[float, Any] = {}
        self._animated = False
        self._node: Optional[Node] = None
        self._tooltip = ""
        self._expression: Optional[str] = None

    def Class(self) -> str:
        return type(self).__name__

    def name(self) -> str:
        return self._name

    def label(self) -> str:
        return self._label

    def setLabel(self, label: str) -> None:
        self._label = label

    def node(self) -> Optional["Node"]:
        return self._node

    def value(self) -> Any:
        if self._expression is not None:
            return self._coerce(_expression_value(self._expression, self))
        if self._animated:
            return self.getValueAt(frame())
        return self._value

    def setExpression(self, expression: str, index: int = 0, view: Optional[str] = None) -> bool:
        # Foundry, Python API reference, Array_Knob.setExpression / hasExpression; the expression is evaluated
        # per frame (nuke.expr: "the word 'frame' evaluates to the frame number"); clearAnimated removes it.
        if self._flags & NO_ANIMATION:
            raise ValueError(f"knob {self._name} cannot be animated")
        _expression_value(expression, self)      # a malformed expression fails here, as Nuke's parser would
        self._expression = expression
        return True

    def hasExpression(self, index: int = -1) -> bool:
        return self._expression is not None

    def getValue(self) -> Any:
        return self.value()

    def _coerce(self, value: Any) -> Any:
        return value

    def setValue(self, value: Any, chan: int = 0) -> bool:
        _require_main_thread(f"{self._name}.setValue")
        self._value = self._coerce(value)
        if self._node is not None:
            self._node._knob_changed(self)
        return True

    def setValueAt(self, value: Any, time: float, index: int = 0, view: Optional[str] = None) -> bool:
        # Foundry, Nuke Python API reference, Array_Knob (setValueAt, setAnimated, isAnimated;
        # learn.foundry.com/nuke/developers/120/pythonreference/nuke.Array_Knob-class.html): a key is set only
        # on an animated knob; one that is not animated only takes the value: no key, no timeline mark.
        if self._flags & NO_ANIMATION:
            raise ValueError(f"knob {self._name} cannot be animated")
        if not self._animated:
            self._value = self._coerce(value)
            return True
        self._keys[float(time)] = self._coerce(value)
        return True

    def getValueAt(self, time: float, index: int = 0, view: Optional[str] = None) -> Any:
        if not self._keys:
            return self._value
        times = sorted(self._keys)
        prior = [t for t in times if t <= time]
        return self._keys[prior[-1] if prior else times[0]]

    def isAnimated(self, channel: int = 0) -> bool:
        return self._animated

    def setAnimated(self, channel: int = 0) -> bool:
        # Foundry, Array_Knob.setAnimated: "Create an Animation object": a curve with a key at the current frame.
        self._animated = True
        self._keys.setdefault(float(frame()), self._value)
        return True

    def clearAnimated(self, channel: int = 0) -> bool:
        self._keys.clear()
        self._animated = False
        self._expression = None
        return True

    def removeKeyAt(self, frame_: float, index: int = 0, view: Optional[str] = None) -> bool:
        return self._keys.pop(float(frame_), None) is not None

    def isKeyAt(self, frame_: float, index: int = 0, view: Optional[str] = None) -> bool:
        return float(frame_) in self._keys

    def keyTimes(self) -> List[float]:
        """Fake helper: the frames that carry keys (what the timeline draws)."""
        return sorted(self._keys)

    def setFlag(self, flag: int) -> None:
        self._flags |= flag

    def clearFlag(self, flag: int) -> None:
        self._flags &= ~flag

    def getFlag(self, flag: int) -> bool:
        return bool(self._flags & flag)

    def setVisible(self, visible: bool) -> None:
        self.clearFlag(INVISIBLE) if visible else self.setFlag(INVISIBLE)

    def visible(self) -> bool:
        return not self._flags & INVISIBLE

    def setEnabled(self, enabled: bool) -> None:
        self.clearFlag(DISABLED) if enabled else self.setFlag(DISABLED)

    def enabled(self) -> bool:
        return not self._flags & DISABLED

    def setTooltip(self, text: str) -> None:
        self._tooltip = text

    def tooltip(self) -> str:
        return self._tooltip


class String_Knob(Knob):
    _default = ""

    def __init__(self, name: str, label: Optional[str] = None, value: str = "") -> None:
        super().__init__(name, label)
        self._value = value

    def _coerce(self, value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(f"{self._name}: a string is required")
        return value

    def value(self) -> str:
        # Foundry, Nuke 12.2 Python API reference, String_Knob (learn.foundry.com/nuke/developers/12.2/
        # pythonreference/nuke.String_Knob-class.html): value() "Get the evaluated value of this knob as a
        # string", getText() "the non-evaluated value"; nuke.value(): "expand brackets and dollar signs in
        # string knobs". So `[...]` runs as a TCL command: JSON that starts with `[` does not survive value().
        return _tcl_evaluate(super().value(), self)

    def getText(self, oc: Any = None) -> str:
        return str(super().value())


def _tcl_evaluate(text: str, knob: Knob) -> str:
    """Nuke's TCL substitution (Tcl(n) rules 6-9): ``[command]`` for the commands the fake knows (``frame``,
    ``value KNOB``), ``$variable`` for ``$gui``, and a backslash that makes the next character literal. An unknown
    command or variable is an error, as in Nuke's TCL."""
    out: List[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append({"n": "\n", "t": "\t"}.get(text[i + 1], text[i + 1]))
            i += 2
        elif c == "[":
            end = text.find("]", i)
            if end < 0:
                raise RuntimeError(f"{knob.name()}: TCL error: missing close-bracket")
            out.append(_tcl_command(text[i + 1:end].split(), knob))
            i = end + 1
        elif c == "$":
            m = re.match(r"\$(\w*)", text[i:])
            name = m.group(1) if m else ""
            if name != "gui":
                raise RuntimeError(f"{knob.name()}: TCL error: can't read \"{name}\": no such variable")
            out.append("1" if env["gui"] else "0")
            i += 1 + len(name)
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _tcl_command(words: List[str], knob: Knob) -> str:
    if words == ["frame"]:
        return str(frame())
    if len(words) == 2 and words[0] == "value" and knob.node() is not None:
        return str(knob.node()[words[1]].value())
    raise RuntimeError(f"{knob.name()}: TCL error: invalid command name \"{words[0] if words else ''}\"")


_EXPRESSION_TOKEN = re.compile(r"\s*(\d+(?:\.\d+)?|frame\b|&&|\|\||>=|<=|==|!=|[<>()!])")


def _expression_value(expression: str, knob: Knob) -> float:
    """A knob expression's value (Foundry, nuke.expr: Nuke's expression parser, where ``frame`` is the frame
    number; ``[...]`` embeds TCL; ``$gui`` is 1 in the GUI and 0 when rendering without it: Foundry support
    article Q100349). The fake parses numbers, ``frame``, comparisons, ``&&``, ``||``, ``!`` and parentheses
    after TCL substitution; anything else fails."""
    text = _tcl_evaluate(expression, knob).rstrip()
    python, pos = [], 0
    while pos < len(text):
        m = _EXPRESSION_TOKEN.match(text, pos)
        if m is None:
            raise RuntimeError(f"{knob.name()}: expression error near {text[pos:pos + 20]!r}")
        tok = m.group(1)
        python.append({"&&": " and ", "||": " or ", "!": " not ", "frame": str(frame())}.get(tok, tok))
        pos = m.end()
    try:
        return float(eval("".join(python) or "0", {"__builtins__": {}}, {}))
    except SyntaxError as exc:
        raise RuntimeError(f"{knob.name()}: expression error in {expression!r}") from exc


class File_Knob(String_Knob):
    pass


class EvalString_Knob(String_Knob):
    pass


class Multiline_Eval_String_Knob(String_Knob):
    pass


class Text_Knob(Knob):
    _default = ""

    def __init__(self, name: str, label: Optional[str] = None, text: str = "") -> None:
        super().__init__(name, label)
        self._value = text

    def _coerce(self, value: Any) -> str:
        return str(value)


class Tab_Knob(Knob):
    pass


class Array_Knob(Knob):
    _default = 0.0

    def _coerce(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{self._name}: a number is required")
        return float(value)


class Double_Knob(Array_Knob):
    def setRange(self, lo: float, hi: float) -> None:
        self._range = (lo, hi)


class Int_Knob(Array_Knob):
    _default = 0

    def _coerce(self, value: Any) -> int:
        return int(super()._coerce(value))


class Boolean_Knob(Array_Knob):
    _default = False

    def __init__(self, name: str, label: Optional[str] = None, value: bool = False) -> None:
        super().__init__(name, label)
        self._value = bool(value)

    def _coerce(self, value: Any) -> bool:
        return bool(value)


class Enumeration_Knob(Knob):
    """A pulldown: ``value()`` is the chosen item's text; setValue takes the text or the index."""

    def __init__(self, name: str, label: Optional[str] = None, items: Sequence[str] = ()) -> None:
        super().__init__(name, label)
        self._items = [str(i) for i in items]
        self._value = self._items[0] if self._items else ""

    def values(self) -> List[str]:
        return list(self._items)

    def setValues(self, items: Sequence[str]) -> None:
        self._items = [str(i) for i in items]
        if self._value not in self._items:
            self._value = self._items[0] if self._items else ""

    def numValues(self) -> int:
        return len(self._items)

    def enumName(self, n: int) -> str:
        return self._items[n]

    def _coerce(self, value: Any) -> str:
        # An expression's result is a number (nuke.expr returns a float) and a pulldown takes it as the item index:
        # Foundry, Python API reference, Enumeration_Knob (an Unsigned_Knob, so an Array_Knob holding the index).
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value < len(self._items):
                raise ValueError(f"{self._name}: index {value} out of range")
            return self._items[value]
        if value not in self._items:
            raise ValueError(f"{self._name}: {value!r} is not one of {self._items}")
        return value


class PyScript_Knob(Knob):
    """A button: ``execute()`` runs its Python with ``nuke.thisNode()`` set to its node."""

    def __init__(self, name: str, label: Optional[str] = None, command: str = "") -> None:
        super().__init__(name, label)
        self._value = command

    def setCommand(self, cmd: str) -> None:
        self._value = cmd

    def command(self) -> str:
        return self._value

    def execute(self) -> None:
        global _this_node, _this_knob
        saved = (_this_node, _this_knob)
        _this_node, _this_knob = self._node, self
        try:
            exec(compile(self._value, f"<{self._name}>", "exec"), {"nuke": sys.modules[__name__]})
        finally:
            _this_node, _this_knob = saved


# ----------------------------------------------------------------------------- images
class _Image:
    """Channels (full names like 'rgba.red') of one frame."""

    def __init__(self, width: int, height: int, planes: Optional[Dict[str, np.ndarray]] = None,
                 bbox: Optional[Tuple[int, int, int, int]] = None) -> None:
        self.width, self.height = width, height
        self.planes: Dict[str, np.ndarray] = dict(planes or {})
        # Nuke's bounding box (x, y, r, t): origin bottom-left, r and t exclusive; it may lie outside the format
        # (Foundry, NDK Developer Guide, "2D Architecture": Box / Format). Pixels are kept for the format only.
        self.bbox = bbox if bbox is not None else (0, 0, width, height)
        self.texts: List[str] = []   # what Text2 nodes drew on this image, in order (the fake draws no glyphs)

    def get(self, channel: str) -> np.ndarray:
        plane = self.planes.get(channel)
        return plane if plane is not None else np.zeros((self.height, self.width), np.float32)

    def copy(self) -> "_Image":
        image = _Image(self.width, self.height, dict(self.planes), self.bbox)
        image.texts = list(self.texts)
        return image


_EXR_TO_NUKE = {"R": "rgba.red", "G": "rgba.green", "B": "rgba.blue", "A": "rgba.alpha", "Y": "rgba.red"}
_SHORT = {"red": "R", "green": "G", "blue": "B", "alpha": "A"}


def _exr_name_to_channel(name: str) -> str:
    if name in _EXR_TO_NUKE:
        return _EXR_TO_NUKE[name]
    if "." in name:
        layer, c = name.rsplit(".", 1)
        full = {"R": "red", "G": "green", "B": "blue", "A": "alpha"}.get(c, c)
        return f"{layer}.{full}"
    return f"other.{name}"


def _channel_to_exr_name(channel: str) -> str:
    layer, c = channel.split(".", 1)
    if layer == "rgba":
        return _SHORT[c]
    return f"{layer}.{_SHORT.get(c, c)}"


def _expand(pattern: str, frame_: int) -> str:
    """A file knob's path at ``frame_``; a path without a frame field is the same file on every frame."""
    return expand(pattern, frame_) if is_sequence(pattern) else pattern


# ----------------------------------------------------------------------------- nodes
class Node:
    """A node: knobs, inputs, a parent group; ``_render(frame)`` computes its image."""

    _class = "Node"
    _max_inputs = 1

    def __init__(self) -> None:
        self._knobs: Dict[str, Knob] = {}
        self._inputs: List[Optional[Node]] = []
        self._parent: Optional[Group] = None
        self._deleted = False
        self.addKnob(String_Knob("name", "name"))
        self.addKnob(String_Knob("label", "label"))
        self.addKnob(Boolean_Knob("disable", "disable"))
        self.addKnob(Int_Knob("tile_color", "tile color"))
        self.addKnob(Double_Knob("xpos"))
        self.addKnob(Double_Knob("ypos"))
        self.addKnob(Multiline_Eval_String_Knob("knobChanged"))
        self.addKnob(Multiline_Eval_String_Knob("onCreate"))

    # identity
    def Class(self) -> str:
        return self._class

    def name(self) -> str:
        return self._knobs["name"].value()

    def setName(self, name: str, uncollide: bool = False, updateExpressions: bool = False) -> None:
        if self._parent is not None:
            taken = {n.name() for n in self._parent._nodes if n is not self}
            if name in taken:
                if not uncollide:
                    raise ValueError(f"name {name!r} is already in use")
                name = _unique(self._parent, re.sub(r"\d+$", "", name))
        self._knobs["name"]._value = name

    def fullName(self) -> str:
        if self._parent is None or isinstance(self._parent, Root):
            return self.name()
        return f"{self._parent.fullName()}.{self.name()}"

    def __repr__(self) -> str:
        return f"<{self._class} {self.fullName()}>"

    # knobs
    def addKnob(self, knob: Knob) -> None:
        if knob._name in self._knobs:
            raise RuntimeError(f"{knob._name}: a knob with this name already exists")
        knob._node = self
        self._knobs[knob._name] = knob

    def removeKnob(self, knob: Knob) -> None:
        self._knobs.pop(knob._name, None)

    def knob(self, name: Union[str, int]) -> Optional[Knob]:
        return self._knobs.get(name) if isinstance(name, str) else list(self._knobs.values())[name]

    def knobs(self) -> Dict[str, Knob]:
        return dict(self._knobs)

    def allKnobs(self) -> List[Knob]:
        return list(self._knobs.values())

    def __getitem__(self, name: str) -> Knob:
        knob = self._knobs.get(name)
        if knob is None:
            raise NameError(f"knob {name} does not exist")
        return knob

    def writeKnobs(self, flags: int = 0) -> str:
        """The knobs as a .nk script writes them (Foundry, Python API reference, Node.writeKnobs): text as
        typed (not evaluated) and animation keys; with WRITE_NON_DEFAULT_ONLY the knobs left at their default
        are left out (the fake approximates "default" as empty, zero or False)."""
        lines = []
        for name, knob in self._knobs.items():
            raw = knob.getText() if isinstance(knob, String_Knob) else knob._value
            if flags & WRITE_NON_DEFAULT_ONLY and not raw and not knob._keys:
                continue
            lines.append(f"{name} {raw!r}" + (f" keys {sorted(knob._keys.items())!r}" if knob._keys else ""))
        return "\n".join(lines)

    def _knob_changed(self, knob: Knob) -> None:
        pass

    # inputs
    def maxInputs(self) -> int:
        return self._max_inputs

    def inputs(self) -> int:
        return len(self._inputs)

    def input(self, i: int) -> Optional["Node"]:
        return self._inputs[i] if i < len(self._inputs) else None

    def setInput(self, i: int, node: Optional["Node"]) -> bool:
        if i >= self.maxInputs():
            return False
        while len(self._inputs) <= i:
            self._inputs.append(None)
        changed = self.input(i) is not node
        self._inputs[i] = node
        while self._inputs and self._inputs[-1] is None:
            self._inputs.pop()
        if changed:
            # Foundry, Python API reference, nuke.addKnobChanged: knobChanged "is also called with dummy knobs
            # when the control panel is opened or when the inputs to the node changes" (the knob "inputChange").
            _knob_changed(self, Knob("inputChange"))
        return True

    def dependent(self) -> List["Node"]:
        group = self._parent
        return [n for n in (group._nodes if group else []) if self in n._inputs]

    # pixels
    def _render(self, frame_: int) -> _Image:
        raise RuntimeError(f"{self.fullName()}: cannot render a {self._class}")

    def _input_image(self, i: int, frame_: int) -> _Image:
        node = self.input(i)
        if node is None:
            fmt = root().format()
            return _Image(fmt.width(), fmt.height())
        return node._render(frame_)

    def width(self) -> int:
        return self._render(frame()).width

    def height(self) -> int:
        return self._render(frame()).height

    def format(self) -> "Format":
        img = self._render(frame())
        return Format(img.width, img.height)

    def hasError(self) -> bool:
        try:
            self._render(frame())
            return False
        except RuntimeError:
            return True

    def sample(self, channel: str, x: float, y: float, dx: float = 1, dy: float = 1, frame_: Optional[int] = None) -> float:
        img = self._render(frame() if frame_ is None else frame_)
        return float(img.get(channel)[img.height - 1 - int(y), int(x)])  # Nuke's y goes up

    def firstFrame(self) -> int:
        return root().firstFrame()

    def lastFrame(self) -> int:
        return root().lastFrame()

    def setSelected(self, selected: bool) -> None:
        self._selected = selected

    def isSelected(self) -> bool:
        return getattr(self, "_selected", False)


class Format:
    def __init__(self, width: int, height: int, name: str = "") -> None:
        self._w, self._h, self._name = width, height, name

    def width(self) -> int:
        return self._w

    def height(self) -> int:
        return self._h

    def name(self) -> str:
        return self._name


class Group(Node):
    _class = "Group"
    _max_inputs = 0  # from its Input nodes

    def __init__(self) -> None:
        super().__init__()
        self._nodes: List[Node] = []

    def maxInputs(self) -> int:
        return len(self._input_nodes())

    def _input_nodes(self) -> List["Input"]:
        return sorted((n for n in self._nodes if isinstance(n, Input)), key=lambda n: n["number"].value())

    def nodes(self) -> List[Node]:
        return list(self._nodes)

    def node(self, name: str) -> Optional[Node]:
        head, _, rest = name.partition(".")
        for n in self._nodes:
            if n.name() == head:
                return n.node(rest) if rest and isinstance(n, Group) else n
        return None

    def begin(self) -> "Group":
        _context.append(self)
        return self

    def end(self) -> None:
        if len(_context) > 1 and _context[-1] is self:
            _context.pop()

    def __enter__(self) -> "Group":
        return self.begin()

    def __exit__(self, *exc: Any) -> None:
        self.end()

    def output(self) -> Optional["Output"]:
        return next((n for n in self._nodes if isinstance(n, Output)), None)

    def _render(self, frame_: int) -> _Image:
        out = self.output()
        if out is None:
            raise RuntimeError(f"{self.fullName()}: group has no Output node")
        return out._render(frame_)


class Root(Group):
    _class = "Root"

    def __init__(self) -> None:
        super().__init__()
        self._knobs["name"]._value = ""   # the script path ("" until saved)
        self.addKnob(Int_Knob("first_frame", "frame range"))
        self.addKnob(Int_Knob("last_frame", ""))
        self["first_frame"]._value, self["last_frame"]._value = 1, 100
        self.addKnob(Enumeration_Knob("colorManagement", "color management", ["Nuke", "OCIO"]))
        self.addKnob(Enumeration_Knob("workingSpaceLUT", "working space",
                                      ["linear", "sRGB", "rec709", "Cineon", "ACES - ACEScg"]))
        self.addKnob(String_Knob("format", "full size format", "256x128"))

    def name(self) -> str:
        return "Root"

    def fullName(self) -> str:
        return "root"

    def firstFrame(self) -> int:
        return int(self["first_frame"].value())

    def lastFrame(self) -> int:
        return int(self["last_frame"].value())

    def format(self) -> Format:
        w, h = self["format"].value().split("x")
        return Format(int(w), int(h))


class Input(Node):
    _class = "Input"
    _max_inputs = 0

    def __init__(self) -> None:
        super().__init__()
        self.addKnob(Int_Knob("number", "number"))

    def _render(self, frame_: int) -> _Image:
        group = self._parent
        if group is None or isinstance(group, Root):
            raise RuntimeError(f"{self.fullName()}: Input outside a group")
        upstream = group.input(int(self["number"].value()))
        if upstream is None:
            raise RuntimeError(f"{group.fullName()}: input {self.name()} is not connected")
        return upstream._render(frame_)


class Output(Node):
    _class = "Output"

    def _render(self, frame_: int) -> _Image:
        return self._input_image(0, frame_)


class Dot(Output):
    _class = "Dot"


class NoOp(Output):
    _class = "NoOp"


class Constant(Node):
    _class = "Constant"
    _max_inputs = 0

    def __init__(self) -> None:
        super().__init__()
        self.addKnob(String_Knob("format", "format", ""))
        self.addKnob(String_Knob("color", "color", "0 0 0 0"))

    def _render(self, frame_: int) -> _Image:
        spec = self["format"].value() or root()["format"].value()
        w, h = (int(v) for v in spec.split("x"))
        values = [float(v) for v in self["color"].value().split()]
        names = _layers["rgba"]
        return _Image(w, h, {c: np.full((h, w), values[i], np.float32) for i, c in enumerate(names)})


class Read(Node):
    """Reads an EXR sequence; a missing frame is an error, outside first..last holds the end frame."""

    _class = "Read"
    _max_inputs = 0

    def __init__(self) -> None:
        super().__init__()
        self.addKnob(File_Knob("file", "file"))
        self.addKnob(Int_Knob("first", "frame range"))
        self.addKnob(Int_Knob("last", ""))
        self["first"]._value, self["last"]._value = 1, 1
        self.addKnob(Boolean_Knob("raw", "raw data"))
        self.addKnob(Enumeration_Knob("on_error", "missing frames", ["error", "black", "checkerboard",
                                                                    "nearest frame"]))
        self.addKnob(PyScript_Knob("reload", "reload", ""))
        self.addKnob(String_Knob("colorspace", "input transform", "default"))
        # Foundry, Nuke User Guide, Read node "before"/"after": what frames outside the range show; hold (the
        # default) repeats the first/last frame, black gives black.
        for name in ("before", "after"):
            self.addKnob(Enumeration_Knob(name, name, ["hold", "loop", "bounce", "black"]))
        self.reloads = 0

    def _render(self, frame_: int) -> _Image:
        pattern = self["file"].value()
        if not pattern:
            raise RuntimeError(f"{self.fullName()}: No file name set")
        first, last = int(self["first"].value()), int(self["last"].value())
        outside = "before" if frame_ < first else "after" if frame_ > last else None
        if outside is not None and self[outside].value() == "black":   # black, whatever "missing frames" says
            try:
                image = self._read(pattern, min(max(frame_, first), last))
            except RuntimeError:
                fmt = root().format()
                return _Image(fmt.width(), fmt.height())
            return _Image(image.width, image.height)   # black in the file's format
        return self._read(pattern, min(max(frame_, first), last))

    def _read(self, pattern: str, f: int) -> _Image:
        path = _expand(pattern, f)
        if not os.path.isfile(path):
            if self["on_error"].value() == "black":
                fmt = root().format()
                return _Image(fmt.width(), fmt.height())
            raise RuntimeError(f"{self.fullName()}: Read error: No such file or directory: {path}")
        inp = oiio.ImageInput.open(path)
        if inp is None:
            raise RuntimeError(f"{self.fullName()}: Read error: cannot open {path}: {oiio.geterror()}")
        spec = inp.spec()
        pixels = inp.read_image(0, 0, 0, spec.nchannels, oiio.FLOAT)
        inp.close()
        # Nuke reads an EXR's display window as the format and its data window as the bounding box (the inverse
        # of its writer, see Write._write); EXR rows count down from the top, Nuke's from the bottom.
        width, height = spec.full_width, spec.full_height
        x, y = spec.x - spec.full_x, spec.y - spec.full_y
        bbox = (x, height - (y + spec.height), x + spec.width, height - y)
        planes = {}
        for i, n in enumerate(spec.channelnames):
            plane = np.zeros((height, width), np.float32)
            _paste(plane, pixels[:, :, i], x, y)
            planes[_exr_name_to_channel(n)] = plane
        return _Image(width, height, planes, bbox)


def _paste(dest: np.ndarray, src: np.ndarray, x: int, y: int) -> None:
    """Copy ``src`` into ``dest`` with its top-left corner at column ``x``, row ``y`` (clipped to ``dest``)."""
    h, w = dest.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + src.shape[1], w), min(y + src.shape[0], h)
    if x1 > x0 and y1 > y0:
        dest[y0:y1, x0:x1] = src[y0 - y:y1 - y, x0 - x:x1 - x]


class Write(Node):
    """Renders its input to files when executed."""

    _class = "Write"

    def __init__(self) -> None:
        super().__init__()
        self.addKnob(File_Knob("file", "file"))
        self.addKnob(Enumeration_Knob("file_type", "file type", ["exr", "tiff", "png"]))
        self.addKnob(String_Knob("channels", "channels", "rgb"))
        self.addKnob(Enumeration_Knob("datatype", "datatype", ["16 bit half", "32 bit float"]))
        self.addKnob(Enumeration_Knob("compression", "compression",
                                      ["Zip (1 scanline)", "Zip (16 scanlines)", "PIZ Wavelet (32 scanlines)",
                                       "none"]))
        self.addKnob(Boolean_Knob("create_directories", "create directories"))
        self.addKnob(Boolean_Knob("raw", "raw data"))
        self.addKnob(String_Knob("colorspace", "output transform", "default"))

    def _render(self, frame_: int) -> _Image:
        return self._input_image(0, frame_)

    def _write(self, frame_: int) -> str:
        if self["file_type"].value() != "exr":
            raise RuntimeError(f"{self.fullName()}: the fake writes only exr")
        path = _expand(self["file"].value(), frame_)
        if not self["file"].value():
            raise RuntimeError(f"{self.fullName()}: No filename set")
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            if not self["create_directories"].value():
                raise RuntimeError(f"{self.fullName()}: Can't write {path}: directory does not exist")
            os.makedirs(directory, exist_ok=True)
        img = self._input_image(0, frame_)
        wanted = _channel_set(self["channels"].value())
        names = [_channel_to_exr_name(c) for c in wanted]
        fmt = oiio.HALF if self["datatype"].value() == "16 bit half" else oiio.FLOAT
        # Foundry NDK, exrWriter.cpp: the EXR's dataWindow is the input's bounding box and its displayWindow
        # the format (rows flipped: EXR y grows downwards). A Roto's bbox is its shape; a blur's grows past
        # the frame edge. Pixels of the bbox outside the format are black here.
        bx, by, br, bt = img.bbox
        spec = oiio.ImageSpec(br - bx, bt - by, len(wanted), fmt)
        spec.x, spec.y = bx, img.height - bt
        spec.full_x, spec.full_y, spec.full_width, spec.full_height = 0, 0, img.width, img.height
        spec.channelnames = tuple(names)
        spec.attribute("compression", {"none": "none"}.get(self["compression"].value(), "zip"))
        pixels = np.zeros((bt - by, br - bx, len(wanted)), np.float32)
        for i, c in enumerate(wanted):
            _paste(pixels[:, :, i], img.get(c), -bx, bt - img.height)
        out = oiio.ImageOutput.create(path)
        if out is None or not out.open(path, spec):
            raise RuntimeError(f"{self.fullName()}: Can't write {path}: {oiio.geterror()}")
        out.write_image(np.ascontiguousarray(pixels))
        out.close()
        return path


class Copy(Node):
    """Copies channels from input 1 (A) into input 0 (B): ``fromN`` -> ``toN``."""

    _class = "Copy"
    _max_inputs = 2

    def __init__(self) -> None:
        super().__init__()
        for i in range(4):
            self.addKnob(String_Knob(f"from{i}", "copy channel", "rgba.alpha" if i == 0 else "none"))
            self.addKnob(String_Knob(f"to{i}", "to", "rgba.alpha" if i == 0 else "none"))

    def _render(self, frame_: int) -> _Image:
        b = self._input_image(0, frame_).copy()
        if self["disable"].value():
            return b
        a = self._input_image(1, frame_)
        # Foundry, Nuke Reference Guide, Copy: it "replaces channels in the B input with channels from the A
        # input", so the result is B's image in B's format; A's pixels are taken at the same coordinates (origin
        # bottom-left), black where A has none. Inputs of different formats are not an error.
        for i in range(4):
            src, dst = self[f"from{i}"].value(), self[f"to{i}"].value()
            if src != "none" and dst != "none":
                plane = np.zeros((b.height, b.width), np.float32)
                _paste(plane, a.get(src), 0, b.height - a.height)
                b.planes[dst] = plane
        return b


class Crop(Node):
    """Crops to ``box`` ("x y r t"): black outside, and the bounding box becomes the box (Foundry, Nuke
    Reference Guide, Crop: with "reformat" off the format stays; the box may extend past it)."""

    _class = "Crop"

    def __init__(self) -> None:
        super().__init__()
        self.addKnob(String_Knob("box", "box", ""))

    def _render(self, frame_: int) -> _Image:
        img = self._input_image(0, frame_).copy()
        if self["disable"].value() or not self["box"].value():
            return img
        x, y, r, t = (int(float(v)) for v in self["box"].value().split())
        rows = np.arange(img.height)[:, None]     # array row 0 is the top: Nuke y = height - 1 - row
        cols = np.arange(img.width)[None, :]
        inside = (cols >= x) & (cols < r) & (img.height - 1 - rows >= y) & (img.height - 1 - rows < t)
        img.planes = {c: np.where(inside, p, 0).astype(np.float32) for c, p in img.planes.items()}
        img.bbox = (x, y, r, t)
        return img


class Premult(Node):
    """Multiplies the colour channels by alpha."""

    _class = "Premult"

    def __init__(self) -> None:
        super().__init__()
        self.addKnob(String_Knob("channels", "channels", "rgb"))
        self.addKnob(String_Knob("alpha", "by", "rgba.alpha"))

    def _render(self, frame_: int) -> _Image:
        img = self._input_image(0, frame_).copy()
        if self["disable"].value():
            return img
        alpha = img.get(self["alpha"].value())
        for c in _channel_set(self["channels"].value()):
            if c in img.planes:
                img.planes[c] = img.planes[c] * alpha
        return img


class Text2(Node):
    """Draws its ``message`` over the input (Foundry, Nuke User Guide, "Entering Text": the message field takes
    text, Tcl expressions in square brackets such as ``[frame]``, and Tcl variables). The fake records the
    evaluated text in the image's ``texts`` instead of drawing glyphs; disabled, it passes the input through."""

    _class = "Text2"

    def __init__(self) -> None:
        super().__init__()
        self.addKnob(Multiline_Eval_String_Knob("message", "message", ""))
        self.addKnob(String_Knob("output", "output", "rgba"))
        self.addKnob(Enumeration_Knob("xjustify", "justify", ["left", "center", "right", "justify"]))
        self.addKnob(Enumeration_Knob("yjustify", "", ["top", "center", "bottom", "baseline"]))
        self.addKnob(Double_Knob("global_font_scale", "global font scale"))
        self["global_font_scale"]._value = 1.0

    def _render(self, frame_: int) -> _Image:
        img = self._input_image(0, frame_).copy()
        global _frame
        saved, _frame = _frame, frame_      # knobs are evaluated at the frame being rendered
        try:
            if not self["disable"].value():
                img.texts.append(self["message"].value())
        finally:
            _frame = saved
        return img


_CLASSES: Dict[str, Callable[[], Node]] = {c._class: c for c in (
    Group, Input, Output, Dot, NoOp, Constant, Read, Write, Copy, Crop, Premult, Text2)}

_root = Root()
_context: List[Group] = [_root]
_this_node: Optional[Node] = None
_this_knob: Optional[Knob] = None
_frame = 1


def _unique(group: Group, base: str) -> str:
    taken = {n.name() for n in group._nodes}
    i = 1
    while f"{base}{i}" in taken:
        i += 1
    return f"{base}{i}"


def _make(cls_name: str, knob_values: Dict[str, Any], inputs: Sequence[Optional[Node]] = ()) -> Node:
    cls = _CLASSES.get(cls_name)
    if cls is None:
        raise RuntimeError(f"{cls_name}: unknown command")
    node = cls()
    group = _context[-1]
    node._parent = group
    node._knobs["name"]._value = _unique(group, cls_name)
    group._nodes.append(node)
    if isinstance(node, Input):
        node["number"]._value = len(group._input_nodes()) - 1
    for i, n in enumerate(inputs):
        node.setInput(i, n)
    for key, value in knob_values.items():
        if key == "name":
            node.setName(value)
            continue
        knob = node.knob(key)
        if knob is None:
            raise RuntimeError(f"{node.name()}: no knob named {key!r}")
        knob.setValue(value)
    return node


class _NodeConstructors:
    """``nuke.nodes.Read(file=..., inputs=[...])``."""

    def __getattr__(self, cls_name: str) -> Callable[..., Node]:
        if cls_name not in _CLASSES:
            raise AttributeError(cls_name)

        def construct(**kwargs: Any) -> Node:
            inputs = kwargs.pop("inputs", ())
            return _make(cls_name, kwargs, inputs)
        return construct


nodes = _NodeConstructors()


def createNode(node: str, args: str = "", inpanel: bool = True) -> Node:
    """Create a node in the current group, connected to the selected node (as in the node graph)."""
    values: Dict[str, Any] = {}
    tokens = args.split()
    for key, value in zip(tokens[::2], tokens[1::2]):
        values[key] = value
    selected = [n for n in _context[-1]._nodes if n.isSelected()]
    created = _make(node, {})
    for key, value in values.items():
        knob = created[key]
        knob.setValue(type(knob._value)(value) if knob._value is not None else value)
    if selected and created.maxInputs():
        created.setInput(0, selected[0])
    return created


def root() -> Root:
    return _root


def thisNode() -> Node:
    if _this_node is None:
        raise ValueError("no node is being evaluated")
    return _this_node


def thisKnob() -> Optional[Knob]:
    return _this_knob


def thisGroup() -> Group:
    return _context[-1]


def toNode(name: str) -> Optional[Node]:
    return _context[-1].node(name) if _context[-1] is not _root else _root.node(name)


def allNodes(filter: Optional[str] = None, group: Optional[Group] = None, recurseGroups: bool = False) -> List[Node]:
    g = group or _context[-1]
    out = []
    for n in g._nodes:
        if filter is None or n.Class() == filter:
            out.append(n)
        if recurseGroups and isinstance(n, Group):
            out.extend(allNodes(filter, n, True))
    return out


def selectedNodes(filter: Optional[str] = None) -> List[Node]:
    return [n for n in allNodes(filter) if n.isSelected()]


def selectedNode() -> Node:
    sel = selectedNodes()
    if not sel:
        raise ValueError("no node selected")
    return sel[-1]


def delete(n: Node) -> None:
    group = n._parent
    if group is not None and n in group._nodes:
        group._nodes.remove(n)
        for other in group._nodes:
            other._inputs = [None if i is n else i for i in other._inputs]
    n._deleted = True


def frame(f: Optional[int] = None) -> int:
    global _frame
    if f is not None:
        _frame = int(f)
    return _frame


def execute(nameOrNode: Union[Node, str], start: Optional[int] = None, end: Optional[int] = None,
            incr: int = 1, views: Optional[List[str]] = None, continueOnError: bool = False) -> None:
    """Render a Write node for frames start..end (step incr), writing its files."""
    _require_main_thread("nuke.execute")
    node = toNode(nameOrNode) if isinstance(nameOrNode, str) else nameOrNode
    if node is None:
        raise ValueError(f"{nameOrNode}: no such node")
    if not isinstance(node, Write):
        raise RuntimeError(f"{node.fullName()} cannot be executed")
    if node["disable"].value():
        raise RuntimeError(f"{node.fullName()}: node is disabled")
    first = root().firstFrame() if start is None else int(start)
    last = root().lastFrame() if end is None else int(end)
    execute_log.append((node.fullName(), first, last))
    for f in range(first, last + 1, int(incr)):
        try:
            node._write(f)
        except RuntimeError:
            if not continueOnError:
                raise


# ----------------------------------------------------------------------------- threads
# Foundry, Nuke Python Developer's Guide, "Threading" (and the executeInMain module): the nuke module is not
# thread-safe; a worker thread hands node and UI work to the main thread with nuke.executeInMainThread (queued,
# returns at once) or nuke.executeInMainThreadWithResult (waits for the result; runs directly when called on
# the main thread). ProgressTask is made and updated from worker threads in Foundry's examples.
_main_queue: "queue.Queue[Tuple[Callable[..., Any], tuple, dict, Optional[list]]]" = queue.Queue()


def _require_main_thread(what: str) -> None:
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError(f"{what} called from a worker thread: use nuke.executeInMainThread")


def executeInMainThread(call: Callable[..., Any], args: Any = (), kwargs: Optional[dict] = None) -> None:
    _main_queue.put((call, tuple(args) if isinstance(args, (tuple, list)) else (args,), dict(kwargs or {}), None))


def executeInMainThreadWithResult(call: Callable[..., Any], args: Any = (), kwargs: Optional[dict] = None) -> Any:
    args = tuple(args) if isinstance(args, (tuple, list)) else (args,)
    if threading.current_thread() is threading.main_thread():
        return call(*args, **dict(kwargs or {}))
    box: list = []
    done = threading.Event()
    _main_queue.put((call, args, dict(kwargs or {}), [box, done]))
    done.wait()
    if box and box[0] == "error":
        raise box[1]
    return box[1] if box else None


def run_main_loop(until: Callable[[], bool], timeout: float = 600.0) -> None:
    """Fake only: Nuke's event loop on the main thread, running queued calls until ``until()`` is true."""
    import time

    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise TimeoutError("the main-thread work did not finish")
        try:
            call, args, kwargs, reply = _main_queue.get(timeout=0.05)
        except queue.Empty:
            continue
        if reply is None:
            call(*args, **kwargs)
            continue
        box, done = reply
        try:
            box[:] = ["ok", call(*args, **kwargs)]
        except BaseException as exc:  # noqa: BLE001 - handed back to the waiting worker
            box[:] = ["error", exc]
        finally:
            done.set()


# ----------------------------------------------------------------------------- menus and plug-ins
class MenuItem:
    def __init__(self, name: str, command: Any = None, icon: str = "", shortcut: str = "") -> None:
        self._name, self._command, self._icon, self._shortcut = name, command, icon, shortcut

    def name(self) -> str:
        return self._name

    def script(self) -> Any:
        return self._command

    def invoke(self) -> None:
        if callable(self._command):
            self._command()
        else:
            exec(compile(self._command, f"<menu {self._name}>", "exec"), {"nuke": sys.modules[__name__]})


class Menu(MenuItem):
    def __init__(self, name: str, icon: str = "") -> None:
        super().__init__(name, None, icon)
        self._items: List[MenuItem] = []

    def addMenu(self, name: str, icon: str = "", tooltip: str = "", index: int = -1) -> "Menu":
        found = self.findItem(name)
        if isinstance(found, Menu):
            return found
        menu = Menu(name, icon)
        self._items.append(menu)
        return menu

    def addCommand(self, name: str, command: Any = None, shortcut: str = "", icon: str = "",
                   tooltip: str = "", index: int = -1, readonly: bool = False) -> MenuItem:
        head, _, rest = name.partition("/")
        if rest:
            return self.addMenu(head).addCommand(rest, command, shortcut, icon)
        item = MenuItem(name, command, icon, shortcut)
        self._items = [i for i in self._items if i.name() != name] + [item]
        return item

    def findItem(self, name: str) -> Optional[MenuItem]:
        head, _, rest = name.partition("/")
        for item in self._items:
            if item.name() == head:
                return item.findItem(rest) if rest and isinstance(item, Menu) else item
        return None

    def items(self) -> List[MenuItem]:
        return list(self._items)


_menus: Dict[str, Menu] = {}


def menu(name: str) -> Menu:
    return _menus.setdefault(name, Menu(name))


def toolbar(name: str, create: bool = True) -> Optional[Menu]:
    if name not in _menus and not create:
        return None
    return menu(name)


def pluginAddPath(path: str, addToSysPath: bool = True) -> None:
    plugin_paths.insert(0, path)
    if addToSysPath and path not in sys.path:
        sys.path.insert(0, path)


def pluginPath() -> List[str]:
    return list(plugin_paths)


def ui_set(knob: Knob, value: Any) -> None:
    """Fake only: the artist changes a knob in the panel; the node's knobChanged script runs (as in Nuke)."""
    knob.setValue(value)
    if knob.node() is not None:
        _knob_changed(knob.node(), knob)


def _knob_changed(node: "Node", knob: Knob) -> None:
    """Run ``node``'s knobChanged script with ``knob`` as nuke.thisKnob()."""
    global _this_node, _this_knob
    script = node["knobChanged"].value()
    if script:
        saved = (_this_node, _this_knob)
        _this_node, _this_knob = node, knob
        try:
            exec(compile(script, f"<knobChanged {node.name()}>", "exec"), {"nuke": sys.modules[__name__]})
        finally:
            _this_node, _this_knob = saved


def reset() -> None:
    """Fake only: a fresh, empty script (root, context, messages, menus, layers)."""
    global _root, _context, _this_node, _this_knob, _frame, cancel_at_progress
    env["gui"] = True
    _root = Root()
    _context = [_root]
    _this_node = _this_knob = None
    _frame = 1
    cancel_at_progress = None
    messages.clear()
    progress_log.clear()
    execute_log.clear()
    _menus.clear()
    for name in [n for n in _layers if n not in ("rgba", "rgb", "alpha")]:
        del _layers[name]
