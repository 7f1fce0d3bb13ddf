"""`webmem demo` (what `make demo` runs), offline and with the LLM agent against the scripted server."""

from __future__ import annotations

from .openai_server import ScriptedOpenAI, call


def test_demo_offline(webmem_cli, tmp_path) -> None:
    res = webmem_cli("demo", "--store", str(tmp_path / "store"), env={"OPENAI_API_KEY": ""})
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert "agent heuristic" in out
    for line in ("miss → learned: stored create-a-customer-named-on-the-plan.yaml",
                 "hit: replayed create-a-customer-named-on-the-plan.yaml", "0 model calls",
                 "healed: replayed create-a-customer-named-on-the-plan.yaml",
                 '+          - role=textbox[name="Customer name"]', "customer  labels_reworded"):
        assert line in out, line
    assert out.count("→ passed") == 3  # the example flows


def test_demo_uses_the_llm_agent_when_a_key_is_set(webmem_cli, llm: ScriptedOpenAI, tmp_path) -> None:
    llm.load(call("fill", "Full name", value="{{ full_name }}"),
             call("fill", "Email", role="textbox", value="{{ email }}"),
             call("select", "Plan", value="{{ plan }}"), call("click", "Save customer"),
             call("done", summary="customer created"))
    res = webmem_cli("demo", "--store", str(tmp_path / "store"), env={"WEBMEM_MODEL": "scripted-model"})
    assert res.returncode == 0, res.stdout + res.stderr
    assert "agent openai (scripted-model)" in res.stdout
    assert "miss → learned" in res.stdout and "5 model calls" in res.stdout
    assert "learning took" in res.stdout and "the hit" in res.stdout
    assert len(llm.requests) == 5  # the hit and the heal made none
