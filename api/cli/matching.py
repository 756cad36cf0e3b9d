"""`peermatch suggest`: the API's suggestions for one member, as a table or as the API's JSON."""
from __future__ import annotations

import json

import click

from api import cli
from api.schemas import SuggestionsSchema
from matcher.index import UnknownMemberError
from matcher.service import onboarding
from matcher.service.access import command_line_caller
from matcher.service.errors import HeldForReviewError, ModelMismatchError, NotFoundError
from matcher.service.suggestions import Suggestions
from matcher.service.suggestions import suggest as suggest_peers


@click.command("suggest")
@click.argument("member_id", type=int)
@click.option("--k", default=5, show_default=True, type=click.IntRange(1, 50))
@click.option("--json", "as_json", is_flag=True, help="Print exactly what GET /api/v1/members/ID/suggestions answers.")
def suggest(member_id: int, k: int, as_json: bool) -> None:
    """Print the best peers for MEMBER_ID, ranked as the API ranks them (an operator's look is not recorded)."""
    db = cli.database()
    services = cli.services(db)
    with db.session() as session:
        try:
            name = onboarding.member_for(session, member_id, command_line_caller()).display_name
            answer = suggest_peers(session, services, member_id, k, record=False)
        except (NotFoundError, UnknownMemberError):
            raise click.ClickException(f"No member with id {member_id} "
                                       "(or it has no embedding yet: run `peermatch embed`).") from None
        except (HeldForReviewError, ModelMismatchError) as exc:
            raise click.ClickException(exc.message) from None
    if as_json:
        click.echo(json.dumps(SuggestionsSchema().dump(answer), sort_keys=True))
    else:
        _echo_table(answer, name or "")


def _echo_table(answer: Suggestions, name: str) -> None:
    click.echo(f"Suggestions for #{answer.member_id} {name} (config {answer.config['name']}, "
               f"search {answer.search['method']}, model {answer.model}):")
    click.echo(f"{'rank':>4}  {'id':>5}  {'name':<18} {'score':>6} {'sim':>5} {'overlap':>7}  shared topics")
    for i, s in enumerate(answer.suggestions, 1):
        e = s.explanation
        click.echo(f"{i:>4}  {s.member_id:>5}  {s.display_name[:18]:<18} {s.score:>6.3f} "
                   f"{e['similarity']:>5.2f} {e['overlap_minutes']:>5}min  {', '.join(e['shared_topics']) or '-'}")
    removed = ", ".join(f"{name} {n}" for name, n in answer.filtered_out.items() if n)
    click.echo(f"Filtered out: {removed or 'none'}.")
