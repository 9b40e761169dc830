"""The README's generated settings table matches the settings model."""

from __future__ import annotations

import re

from floodwatch.core.settings import Settings
from floodwatch.reference import BEGIN, END, generated_files, readme_with_table, settings_table
from tests.support import REPO_ROOT


def test_settings_table_is_current() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    assert BEGIN in readme
    assert END in readme
    assert readme_with_table(readme) == readme, "run: floodwatch settings --write README.md"


def test_configuration_reference_and_env_example_are_current() -> None:
    for path, text in generated_files(REPO_ROOT / "README.md").items():
        assert path.read_text() == text, f"{path}: run: floodwatch settings --write README.md"


def test_every_setting_is_in_the_configuration_reference_and_env_example() -> None:
    files = generated_files(REPO_ROOT / "README.md")
    reference = files[REPO_ROOT / "docs" / "configuration.md"]
    example = files[REPO_ROOT / ".env.example"]
    for name in Settings.model_fields:
        assert f"`FLOODWATCH_{name.upper()}`" in reference
        assert f"# FLOODWATCH_{name.upper()}" in example


def test_every_setting_is_documented() -> None:
    table = settings_table()
    for name, field in Settings.model_fields.items():
        assert f"`FLOODWATCH_{name.upper()}`" in table
        assert field.description, f"{name} needs a description"


def test_readme_names_the_two_setup_commands_and_ci_runs_the_test_one() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    assert "make demo" in readme
    assert "make test" in readme
    assert "make test" in (REPO_ROOT / ".ci" / "run").read_text()


def test_the_readme_and_deployment_files_point_only_to_files_in_the_repository() -> None:
    for name in ("README.md", "docker-compose.yml", "Dockerfile", "docs/deploy.md"):
        text = (REPO_ROOT / name).read_text()
        assert "../" not in text.replace("http://", "").replace("https://", ""), name
        for path in re.findall(r"\bdocs/[\w.-]*\w", text):
            assert (REPO_ROOT / path).exists(), f"{name} names {path}, which is not there"
