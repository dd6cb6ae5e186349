"""The widget side of a notebook front end, for the tests of ``%emr_picker`` in any kernel."""

from __future__ import annotations

from typing import Any

from kernels import NotebookKernel


class FrontEnd:
    """The widget side of a notebook front end: the models the kernel opened, kept current
    from comm_open and update messages. Every message is kept, for the secret check."""

    def __init__(self, kernel: NotebookKernel) -> None:
        self.kernel = kernel
        self.models: dict[str, dict[str, Any]] = {}
        self.received: list[dict[str, Any]] = []

    def run(self, code: str) -> str:
        cell_status, messages = self.kernel.messages(code)
        self._absorb(messages)
        return cell_status

    def _absorb(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            self.received.append(message)
            kind, content = message["header"]["msg_type"], message["content"]
            if kind == "comm_open" and content["target_name"] == "jupyter.widget":
                self.models[content["comm_id"]] = dict(content["data"]["state"])
            elif kind == "comm_msg" and content["data"].get("method") in ("update",
                                                                          "echo_update"):
                self.models[content["comm_id"]].update(content["data"]["state"])

    def _id(self, part: str) -> str:
        found = [comm_id for comm_id, state in self.models.items()
                 if f"jp-EmrRoles-{part}" in state.get("_dom_classes", ())]
        assert len(found) == 1, (part, found)
        return found[0]

    def state(self, part: str) -> dict[str, Any]:
        return self.models[self._id(part)]

    def labels(self, part: str) -> list[str]:
        return list(self.state(part)["_options_labels"])

    def selected(self, part: str) -> str:
        state = self.state(part)
        return state["_options_labels"][state["index"]]

    def shown(self, part: str) -> bool:
        layout = self.models[self.state(part)["layout"].removeprefix("IPY_MODEL_")]
        return layout.get("display") != "none"

    def update(self, part: str, **state: Any) -> None:
        """What a browser sends when the user changes a control."""
        comm_id = self._id(part)
        self.models[comm_id].update(state)
        self._absorb(self.kernel.send_comm(comm_id, {"method": "update", "state": state,
                                                     "buffer_paths": []}))

    def choose(self, part: str, text: str) -> None:
        matching = [n for n, label in enumerate(self.labels(part)) if text in label]
        assert len(matching) == 1, (text, self.labels(part))
        self.update(part, index=matching[0])

    def click(self, part: str) -> None:
        self._absorb(self.kernel.send_comm(self._id(part), {
            "method": "custom", "content": {"event": "click"}}))

    def output(self) -> list[dict[str, Any]]:
        return list(self.state("output")["outputs"])

    def output_text(self) -> str:
        return "".join(entry.get("text") or entry.get("data", {}).get("text/plain", "")
                       or "\n".join([entry.get("evalue", ""), *entry.get("traceback", [])])
                       for entry in self.output())

    def all_pages(self) -> None:
        while self.shown("more"):
            self.click("more")


def picker(kernel: NotebookKernel) -> FrontEnd:
    kernel.ok("%load_ext jupyter_emr_roles")
    front = FrontEnd(kernel)
    assert front.run("%emr_picker") == "ok"
    return front
