"""The participation part of the Riverton demo: a participatory budget voted and counted,
a consultation closed with its outcome, a survey open now, and residents' proposals.

**What is made** (every write through this app's services, by the people who would make
it, so it is all in the audit trail):

- *Riverton budget 2027* (``budget-2027``, run by Communications' engagement officer for
  Riverside, Northgate and Eastfield): £1.2M in three ward headings of £400,000, 24
  projects (8 a ward; four from residents' accepted proposals; reviewed by their
  departments: one not feasible, one with its cost revised), about 2,000 knapsack ballots
  (the demo's residents who live in those wards online, the rest on paper at the wards'
  libraries, entered by staff with each voter's national identity number; a few residents
  voted on paper and again online, a few changed their vote), the vote closed, every
  heading counted by every method and the results published, and delivery under way on
  some winners. The voters are drawn so that greedy and equal shares choose different
  winners (:func:`ballots_draw`): in each ward most voters back its three big projects,
  which fill the budget almost alone, and a large minority backs the small local ones.
  Greedy gives the big projects everything; equal shares gives each group its share.
- *Riverside regeneration plan* (``riverside-regeneration``, Planning & Building): the
  draft plan's consultation, closed, with online and drop-in (paper) responses, comments
  and the published outcome, whose figures are the responses' own.
- *Parks and green spaces* (``parks-green-spaces``, Communications): a survey open now
  (anonymous responses allowed, with an email confirmation), answered by some residents
  already; the named residents have not answered it, so they can; the residents who opted
  in to participation news were invited to it.
- Proposals in the budget's proposals phase, supported by residents; those that reached
  the threshold answered (accepted, not accepted with the reason, already planned); a few
  comments with replies, one hidden by a moderator with the reason shown.

**Past phases are replayed.** Residents can propose and support only during the proposals
phase, and vote only during the vote; the services check it against today's date. So the
loader gives each process its real dates, then for each past phase moves it to take in
today (:func:`ecitizen.participation.services.processes.phase_update`), lets the residents
act through the services, and puts it back (the audit trail shows the moves). The times
the services write (a ballot's ``cast_at``, a proposal's ``created_at``) are therefore the
day the demo was loaded.

Idempotent: each process is made once (by its slug); running the demo again makes nothing.
Deterministic: every choice derives from the demo's seed (``random.Random(seed + n)``).
"""

from __future__ import annotations

import random
import textwrap
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from ecitizen.accounts import services as accounts_services
from ecitizen.accounts.demo import DemoAccount
from ecitizen.accounts.selectors import (
    department_by_slug,
    jurisdictions_by_code,
    user_by_email,
    user_has_role,
    users_with_profiles,
)
from ecitizen.core.registry import DemoContext
from ecitizen.participation.models import (
    Action,
    Budget,
    Channel,
    CommentFlag,
    Consultation,
    Phase,
    Process,
    Project,
    Proposal,
    Target,
)
from ecitizen.participation.selectors.budgets import heading_access
from ecitizen.participation.services import (
    budgets,
    comments,
    consultations,
    follows,
    processes,
    proposals,
)
from ecitizen.participation.services.common import (
    eligibility_check,
    person_key_for_national_id,
    person_key_for_user,
    today,
)

BUDGET_SLUG = "budget-2027"
REGENERATION_SLUG = "riverside-regeneration"
PARKS_SLUG = "parks-green-spaces"
#: The engagement officer who runs the budget and the survey (Communications).
ENGAGEMENT_LOCAL = "engagement"
ENGAGEMENT_NAME = "Jade Okoro"
ENGAGEMENT_DEPARTMENT = "communications"
ENGAGEMENT_ROLE = "engagement_officer"

#: Each heading's amount; the budget's total is their sum.
HEADING_AMOUNT = Decimal("400000.00")
#: Supports at which a proposal is owed an official answer.
SUPPORT_THRESHOLD = 10
#: The least age to vote (the budget's rule).
VOTING_AGE = 16

# --- the budget's projects ----------------------------------------------------------------


@dataclass(frozen=True)
class ProjectSpec:
    """A project of the demo budget. ``big``: one of the ward's three large projects that
    most voters back (the others are the small local ones a minority backs);
    ``proposal``: the key of the residents' proposal it came from; ``not_feasible``: the
    department's reason; ``revised_cost``: the cost after the review."""

    key: str
    title: str
    description: str
    cost: int
    department: str
    big: bool = False
    proposal: str = ""
    not_feasible: str = ""
    revised_cost: int | None = None


@dataclass(frozen=True)
class HeadingSpec:
    """A ward's heading: its ward (code), the share of its voters who back the big
    projects, how many vote, and its projects in order."""

    ward: str
    big_share: float
    voters: int
    projects: tuple[ProjectSpec, ...]


HEADINGS: tuple[HeadingSpec, ...] = (
    HeadingSpec(
        ward="riverside",
        big_share=0.58,
        voters=680,
        projects=(
            ProjectSpec(
                "riverside-lighting",
                "Light the Riverside Walk",
                "Replace the 40 old lamps along the Riverside Walk, from Bridge Street to the "
                "lock, with LED lamps, and light the dark stretch under the railway bridge "
                "where people no longer walk after dusk.",
                165_000,
                "public-works",
                big=True,
            ),
            ProjectSpec(
                "kingfisher-play",
                "New play area in Kingfisher Park",
                "Replace the 1990s play equipment with an inclusive play area for children up "
                "to 12: a wheelchair-accessible roundabout, a basket swing, a sensory garden "
                "and safety surfacing throughout.",
                140_000,
                "public-works",
                big=True,
            ),
            ProjectSpec(
                "towpath",
                "Resurface the towpath from Mill Lane to the lock",
                "An all-weather surface on the 1.2 km towpath, which floods and turns to mud "
                "every winter, so that buggies, wheelchairs and bikes can use it all year.",
                85_000,
                "public-works",
                big=True,
            ),
            ProjectSpec(
                "weavers-orchard",
                "Community orchard on Weaver's Row green",
                "Plant 30 apple, pear and plum trees of local varieties on the green, with "
                "benches and a noticeboard; the residents' association will look after them "
                "and share the fruit.",
                28_000,
                "public-works",
                proposal="orchard",
            ),
            ProjectSpec(
                "river-walk-cycles",
                "Covered cycle parking on River Walk",
                "Twenty covered, lockable cycle stands by the shops on River Walk, where "
                "bikes are now chained to railings and lamp posts.",
                36_000,
                "transport-licensing",
            ),
            ProjectSpec(
                "youth-club-kitchen",
                "A new kitchen for the Riverside youth club",
                "Refit the youth club's kitchen so that it can run cooking sessions and a free "
                "holiday lunch club for up to 40 young people.",
                52_000,
                "communications",
            ),
            ProjectSpec(
                "river-walk-benches",
                "Benches and a drinking fountain on River Walk",
                "Eight benches with armrests, spaced every 150 metres for people who need a "
                "rest, and a drinking fountain with a bottle filler by the bandstand.",
                24_000,
                "public-works",
            ),
            ProjectSpec(
                "canoe-pontoon",
                "A floating pontoon for the canoe club",
                "A floating pontoon below the weir so that the canoe club and visitors can get "
                "on and off the river safely.",
                210_000,
                "public-works",
                proposal="pontoon",
                not_feasible=(
                    "The river here is a main river in the flood channel: the Environment Agency "
                    "told us it would not permit a fixed pontoon at the weir, and a design it "
                    "could permit would cost more than half of the ward's budget. We will look "
                    "at a launch point upstream with the canoe club instead."
                ),
            ),
        ),
    ),
    HeadingSpec(
        ward="northgate",
        big_share=0.60,
        voters=650,
        projects=(
            ProjectSpec(
                "school-crossing",
                "A safer crossing outside Northgate Primary",
                "A raised zebra crossing, wider pavements and a 20 mph zone on School Lane, "
                "where parents report near misses every week at the start and end of the "
                "school day.",
                150_000,
                "public-works",
                big=True,
            ),
            ProjectSpec(
                "library-reading-room",
                "Refurbish the Northgate Library reading room",
                "New heating, lighting and furniture for the reading room, which has not been "
                "refurbished since 1986, and a quiet study area for students with power "
                "sockets at every desk.",
                120_000,
                "communications",
                big=True,
            ),
            ProjectSpec(
                "foundry-underpass",
                "Light and repaint the Foundry Lane underpass",
                "Bright LED lighting, CCTV and anti-graffiti paint in the underpass between "
                "Foundry Lane and the station, which many people avoid after dark.",
                95_000,
                "public-works",
                big=True,
            ),
            ProjectSpec(
                "tannery-pocket-park",
                "A pocket park on Tannery Yard",
                "Turn the empty corner plot on Tannery Yard into a small park with trees, "
                "planters, seating and a water tap for the community gardeners.",
                60_000,
                "planning-building",
            ),
            ProjectSpec(
                "outdoor-gym",
                "Outdoor gym at Northgate Recreation Ground",
                "Eight pieces of outdoor fitness equipment for all ages and abilities beside "
                "the footpath round the recreation ground, free to use at any time.",
                45_000,
                "public-works",
                proposal="outdoor-gym",
            ),
            ProjectSpec(
                "station-road-shelter",
                "A bus shelter with live times on Station Road",
                "A covered bus shelter with seating and a screen showing when the next buses "
                "are due, at the busy stop outside the health centre.",
                38_000,
                "transport-licensing",
            ),
            ProjectSpec(
                "castle-hill-verges",
                "Wildflower verges along Castle Hill",
                "Sow native wildflowers on the wide grass verges along Castle Hill and mow "
                "them twice a year instead of every fortnight, for bees and butterflies.",
                18_000,
                "public-works",
            ),
            ProjectSpec(
                "war-memorial",
                "Repair the Northgate war memorial",
                "Clean and repair the stonework of the war memorial on Church Street, recut "
                "the worn names and repair the railings around it.",
                22_000,
                "planning-building",
                revised_cost=30_000,
            ),
        ),
    ),
    HeadingSpec(
        ward="eastfield",
        big_share=0.56,
        voters=670,
        projects=(
            ProjectSpec(
                "skatepark",
                "Extend the Eastfield skatepark",
                "Double the size of the skatepark with a bowl and a beginners' area, designed "
                "with the young people who use it, and add floodlights until 9pm.",
                170_000,
                "public-works",
                big=True,
            ),
            ProjectSpec(
                "changing-places",
                "A Changing Places toilet at Eastfield Leisure Centre",
                "A fully accessible toilet with a hoist, an adult-sized changing bench and "
                "room for two carers, so that disabled people can use the leisure centre and "
                "the park next to it.",
                110_000,
                "public-works",
                big=True,
            ),
            ProjectSpec(
                "meadow-rise-path",
                "A footpath across the Meadow Rise fields",
                "A lit, surfaced footpath across the fields from Meadow Rise to the school and "
                "the shops, replacing the muddy track people use now.",
                90_000,
                "public-works",
                big=True,
            ),
            ProjectSpec(
                "community-pantry",
                "A community fridge and pantry at St Mark's hall",
                "Fridges, freezers and shelving so that volunteers can share surplus food from "
                "local shops with anyone who needs it, five days a week.",
                25_000,
                "communications",
                proposal="pantry",
            ),
            ProjectSpec(
                "orchard-close-trees",
                "Street trees on Orchard Close",
                "Plant 25 street trees in tree pits along Orchard Close, which has none, with "
                "watering for their first three summers.",
                40_000,
                "public-works",
            ),
            ProjectSpec(
                "allotment-water",
                "Running water for the Eastfield allotments",
                "A mains water supply with six standpipes across the allotments, where plot "
                "holders now carry water from their homes.",
                32_000,
                "public-works",
            ),
            ProjectSpec(
                "dementia-signs",
                "Dementia-friendly signs in Eastfield centre",
                "Clear, high-contrast signs with pictures at the shops, the health centre and "
                "the bus stops, designed with the local dementia carers' group.",
                20_000,
                "planning-building",
            ),
            ProjectSpec(
                "elm-grove-murals",
                "Murals for the Elm Grove underpass",
                "Local artists and pupils of Eastfield School paint murals of the area's "
                "history on the walls of the underpass.",
                35_000,
                "communications",
            ),
        ),
    ),
)

#: The winners' delivery: status and milestones (days before today, title, description),
#: for the projects the published results selected (the others are left alone).
DELIVERY: dict[str, tuple[str, tuple[tuple[int, str, str], ...]]] = {
    "weavers-orchard": (
        Project.Delivery.DONE,
        (
            (
                38,
                "Trees chosen with residents",
                "Residents chose 30 local varieties at a meeting "
                "on the green with the council's tree officer.",
            ),
            (
                12,
                "Orchard planted",
                "Volunteers and the parks team planted the trees and put in "
                "the benches and the noticeboard.",
            ),
        ),
    ),
    "river-walk-benches": (
        Project.Delivery.WORKS,
        (
            (30, "Places agreed", "The benches' places were agreed with the access group."),
            (6, "Installation started", "The first four benches are in; the fountain follows."),
        ),
    ),
    "river-walk-cycles": (
        Project.Delivery.PROCUREMENT,
        (
            (
                20,
                "Design approved",
                "The shelter's design was approved by the conservation officer.",
            ),
        ),
    ),
    "castle-hill-verges": (
        Project.Delivery.DONE,
        (
            (
                25,
                "Verges sown",
                "The verges were sown with a native wildflower mix; they flower from May.",
            ),
        ),
    ),
    "station-road-shelter": (
        Project.Delivery.DESIGN,
        ((15, "Site survey done", "The survey found the cables needed for the screen."),),
    ),
    "community-pantry": (
        Project.Delivery.DONE,
        (
            (
                28,
                "Equipment installed",
                "Two fridges, a freezer and shelving were installed in the hall.",
            ),
            (9, "Pantry opened", "The pantry opened with 20 volunteers."),
        ),
    ),
    "allotment-water": (
        Project.Delivery.WORKS,
        ((10, "Works started", "The water company began laying the supply pipe."),),
    ),
}

# --- proposals and comments ---------------------------------------------------------------


@dataclass(frozen=True)
class ProposalSpec:
    """A resident's proposal in the budget's proposals phase: its ward (code), how many
    residents support it, and the department's answer (empty: none yet)."""

    key: str
    ward: str
    title: str
    description: str
    supports: int
    answer: str = ""
    answer_text: str = ""


PROPOSALS: tuple[ProposalSpec, ...] = (
    ProposalSpec(
        "orchard",
        "riverside",
        "Community orchard on Weaver's Row green",
        "The green on Weaver's Row is just mown grass. Fruit trees would give shade, "
        "blossom in spring and fruit for everyone, and the residents' association has "
        "offered to look after them.",
        supports=24,
        answer=Proposal.Answer.ACCEPTED,
        answer_text="Accepted: it goes to the vote as a project of the Riverside heading, "
        "costed by Public Works at £28,000.",
    ),
    ProposalSpec(
        "pontoon",
        "riverside",
        "A floating pontoon for the canoe club",
        "Getting into a canoe from the bank below the weir is dangerous. A floating pontoon "
        "would let the canoe club, schools and visitors get on and off the river safely.",
        supports=14,
        answer=Proposal.Answer.ACCEPTED,
        answer_text="Accepted for a feasibility review as a project of the Riverside heading.",
    ),
    ProposalSpec(
        "outdoor-gym",
        "northgate",
        "Outdoor gym at Northgate Recreation Ground",
        "Free outdoor fitness equipment by the footpath, so that people who cannot afford a "
        "gym can exercise, as they do in Millbrook park.",
        supports=19,
        answer=Proposal.Answer.ACCEPTED,
        answer_text="Accepted: it goes to the vote as a project of the Northgate heading.",
    ),
    ProposalSpec(
        "pantry",
        "eastfield",
        "A community fridge and pantry at St Mark's hall",
        "Shops throw away good food every evening. With fridges at St Mark's hall, "
        "volunteers could share it with families who are struggling.",
        supports=21,
        answer=Proposal.Answer.ACCEPTED,
        answer_text="Accepted: it goes to the vote as a project of the Eastfield heading.",
    ),
    ProposalSpec(
        "free-parking",
        "northgate",
        "Free parking in the town centre on Saturdays",
        "Free parking on Saturdays would bring shoppers back to the high street and help "
        "the small shops compete with the retail park.",
        supports=16,
        answer=Proposal.Answer.NOT_ACCEPTED,
        answer_text="Not accepted: parking charges are set by the council's parking policy, "
        "not by this budget, and free Saturday parking would cost about £180,000 in lost "
        "income every year, while this budget pays for one-off projects. We have passed "
        "your proposal to the team reviewing the parking policy next spring.",
    ),
    ProposalSpec(
        "station-road-potholes",
        "northgate",
        "Fix the potholes on Station Road",
        "Station Road is full of potholes between the station and the health centre. "
        "Cyclists have to swerve into the traffic to avoid them.",
        supports=12,
        answer=Proposal.Answer.ALREADY_PLANNED,
        answer_text="Already planned: Station Road is in this year's resurfacing programme "
        "and the works are booked for March. Please report any pothole that is dangerous "
        "now on the street reports page, and we will make it safe within 48 hours.",
    ),
    ProposalSpec(
        "towpath-bins",
        "riverside",
        "More litter bins along the towpath",
        "There are only two bins between Mill Lane and the lock, and litter ends up in the "
        "river, especially on summer weekends.",
        supports=11,
        answer=Proposal.Answer.ALREADY_PLANNED,
        answer_text="Already planned: Public Works will put six new bins along the towpath "
        "this spring, emptied daily from May to September.",
    ),
    ProposalSpec(
        "eastfield-pool",
        "eastfield",
        "A swimming pool for Eastfield",
        "Children in Eastfield have to take two buses to learn to swim. The ward needs its "
        "own pool.",
        supports=13,
        answer=Proposal.Answer.NOT_ACCEPTED,
        answer_text="Not accepted: a new pool would cost about £9 million to build and "
        "£400,000 a year to run, far more than the ward's part of this budget. The leisure "
        "centre will run a free swimming bus for schools from September instead.",
    ),
    ProposalSpec(
        "dog-park",
        "eastfield",
        "A fenced dog park",
        "A fenced area where dogs can run off the lead, away from the children's play area.",
        supports=6,
    ),
    ProposalSpec(
        "girls-skate",
        "eastfield",
        "Skateboarding sessions for girls",
        "Free weekly sessions with a coach so that girls feel welcome at the skatepark.",
        supports=4,
    ),
)


@dataclass(frozen=True)
class CommentSpec:
    """A comment on a proposal (``on``: its key), with its replies; ``hidden``: the
    moderator's reason for hiding it, after residents flagged it."""

    on: str
    body: str
    replies: tuple[str, ...] = ()
    hidden: str = ""


PROPOSAL_COMMENTS: tuple[CommentSpec, ...] = (
    CommentSpec(
        "orchard",
        "Great idea. My children would love to pick apples on the way home from school.",
        replies=("The allotment society has spare fruit trees too: we could plant them as well.",),
    ),
    CommentSpec(
        "free-parking",
        "Free parking would just fill the centre with commuters' cars by eight in the morning.",
        replies=("Not if it were only on Saturdays, which is what the proposal says.",),
    ),
    CommentSpec(
        "pontoon",
        "Typical Riverside lot, always wanting something for nothing. Nobody in the rest of "
        "the town cares about your canoes, so stop whining.",
        hidden="Hidden by a moderator: it attacks people for where they live. Our code of "
        "conduct asks everyone to discuss ideas, not people.",
    ),
    CommentSpec(
        "pontoon",
        "The club already teaches children from three schools. A safe way into the water "
        "would let it teach many more.",
    ),
    CommentSpec(
        "pantry",
        "St Mark's hall is the right place: it is on the bus route and open every weekday.",
    ),
)

# --- the consultation and the survey ------------------------------------------------------

REGENERATION_QUESTIONS = """
- id: overall
  type: single_choice
  label: How far do you support the draft plan as a whole?
  error_label: how far you support the plan
  choices:
    - {value: strongly_support, label: Strongly support}
    - {value: support, label: Support}
    - {value: neutral, label: Neither support nor oppose}
    - {value: oppose, label: Oppose}
    - {value: strongly_oppose, label: Strongly oppose}
- id: priorities
  type: multiple_choice
  label: Which parts of the plan matter most to you?
  hint: Select all that apply.
  error_label: the parts of the plan that matter most to you
  choices:
    - {value: homes, label: "350 new homes on the old gasworks site, 30% of them affordable"}
    - {value: park, label: A new riverside park}
    - {value: flood, label: Stronger flood defences along River Walk}
    - {value: bus, label: Moving the bus station next to the railway station}
    - {value: shops, label: New shops and cafés on Bridge Street}
- id: height
  type: single_choice
  label: The plan allows buildings of up to 8 storeys next to the river. Is that
  error_label: what you think of the buildings' height
  choices:
    - {value: too_high, label: Too high}
    - {value: about_right, label: About right}
    - {value: could_be_higher, label: Could be higher}
- id: comments
  type: long_text
  label: Is there anything else you want to tell us about the plan?
  required: false
  error_label: your comments
  validation: {max_length: 2000}
"""

PARKS_QUESTIONS = """
- id: visits
  type: single_choice
  label:
    en: How often do you visit a park or green space in Riverton?
    fr: À quelle fréquence allez-vous dans un parc ou un espace vert de Riverton ?
    ar: كم مرة تزور حديقة أو مساحة خضراء في ريفرتون؟
  error_label:
    en: how often you visit a park
    fr: la fréquence de vos visites
    ar: عدد مرات زيارتك
  choices:
    - value: daily
      label:
        en: Every day or almost
        fr: Tous les jours ou presque
        ar: كل يوم تقريبًا
    - {value: weekly, label: {en: Every week, fr: Chaque semaine, ar: كل أسبوع}}
    - {value: monthly, label: {en: Every month, fr: Chaque mois, ar: كل شهر}}
    - {value: rarely, label: {en: Less often, fr: Moins souvent, ar: أقل من ذلك}}
    - {value: never, label: {en: Never, fr: Jamais, ar: أبدًا}}
- id: park
  type: single_choice
  label:
    en: Which park do you go to most?
    fr: Dans quel parc allez-vous le plus souvent ?
    ar: ما الحديقة التي تزورها أكثر من غيرها؟
  error_label:
    en: the park you go to most
    fr: le parc où vous allez le plus
    ar: الحديقة التي تزورها أكثر
  choices:
    - {value: kingfisher, label: {en: Kingfisher Park, fr: Parc Kingfisher, ar: حديقة كينغفيشر}}
    - value: northgate_rec
      label:
        en: Northgate Recreation Ground
        fr: Terrain de loisirs de Northgate
        ar: ملعب نورثغيت الترفيهي
    - value: castle_hill
      label:
        en: Castle Hill Gardens
        fr: Jardins de Castle Hill
        ar: حدائق كاسل هيل
    - value: meadow_rise
      label:
        en: Meadow Rise fields
        fr: Prés de Meadow Rise
        ar: حقول ميدو رايز
    - {value: other, label: {en: Another park, fr: Un autre parc, ar: حديقة أخرى}}
- id: improvements
  type: multiple_choice
  label:
    en: What would make you visit parks more often?
    fr: Qu'est-ce qui vous donnerait envie d'aller plus souvent au parc ?
    ar: ما الذي سيجعلك تزور الحدائق أكثر؟
  hint:
    en: Select all that apply.
    fr: Sélectionnez toutes les réponses qui conviennent.
    ar: اختر كل ما ينطبق.
  error_label:
    en: what would make you visit more often
    fr: ce qui vous ferait venir plus souvent
    ar: ما يجعلك تزورها أكثر
  choices:
    - {value: toilets, label: {en: Public toilets, fr: Des toilettes publiques, ar: مراحيض عامة}}
    - {value: lighting, label: {en: Better lighting, fr: Un meilleur éclairage, ar: إضاءة أفضل}}
    - {value: seating, label: {en: More seating, fr: Plus de bancs, ar: مقاعد أكثر}}
    - value: play
      label:
        en: Better play areas
        fr: De meilleures aires de jeux
        ar: مناطق لعب أفضل
    - value: cleaner
      label:
        en: Cleaner paths and less litter
        fr: Des allées plus propres
        ar: ممرات أنظف
    - {value: events, label: {en: Events and activities, fr: Des animations, ar: فعاليات وأنشطة}}
- id: safe_after_dark
  type: single_choice
  label:
    en: How safe do you feel in Riverton's parks after dark?
    fr: Vous sentez-vous en sécurité dans les parcs de Riverton à la nuit tombée ?
    ar: ما مدى شعورك بالأمان في حدائق ريفرتون بعد حلول الظلام؟
  error_label:
    en: how safe you feel after dark
    fr: votre sentiment de sécurité la nuit
    ar: مدى شعورك بالأمان ليلًا
  choices:
    - {value: very_safe, label: {en: Very safe, fr: Très en sécurité, ar: آمن جدًا}}
    - {value: fairly_safe, label: {en: Fairly safe, fr: Plutôt en sécurité, ar: آمن إلى حد ما}}
    - {value: unsafe, label: {en: Not very safe, fr: Pas très en sécurité, ar: غير آمن كثيرًا}}
    - value: very_unsafe
      label:
        en: Not safe at all
        fr: Pas du tout en sécurité
        ar: غير آمن إطلاقًا
- id: ideas
  type: long_text
  required: false
  label:
    en: Do you have an idea for a park near you?
    fr: Avez-vous une idée pour un parc près de chez vous ?
    ar: هل لديك فكرة لحديقة قريبة منك؟
  error_label:
    en: your idea
    fr: votre idée
    ar: فكرتك
  validation: {max_length: 2000}
"""

#: Free-text answers residents give (none names anyone).
REGENERATION_REMARKS = (
    "Please keep the old gasworks building: it is part of the town's history.",
    "The new homes need a doctor's surgery and school places, not just flats.",
    "Moving the bus station next to the trains makes sense; keep a stop on Bridge Street.",
    "The flood defences should come first, before anything is built by the river.",
    "More trees and fewer car parking spaces, please.",
    "",
    "",
    "",
)
PARKS_IDEAS = (
    "A toilet block in Kingfisher Park that is open all year.",
    "Lights on the path across Castle Hill Gardens, it is pitch dark in winter.",
    "A community garden where children can grow vegetables.",
    "More bins and benches along the river.",
    "",
    "",
    "",
)

# --- what the loader made -------------------------------------------------------------------


@dataclass
class ParticipationDemoResult:
    """What :func:`participation_demo_load` made (nothing for a process there already)."""

    processes: list[str] = field(default_factory=list)
    proposals: int = 0
    supports: int = 0
    comments: int = 0
    projects: int = 0
    ballots: int = 0
    responses: int = 0
    milestones: int = 0


# --- people -------------------------------------------------------------------------------


def _staff(context: DemoContext, role: str, department: str | None) -> Any:
    """The city's official with ``role`` in ``department`` (no ward limit), else None."""
    for person in context.city.staff:
        in_department = department is None or department in person.departments
        if person.role == role and person.ward is None and in_department:
            return user_by_email(email=context.city.email(person.local))
    return None


def _department(slug: str) -> Any:
    """The department ``slug`` (the ``people`` loader made the city's departments)."""
    department = department_by_slug(slug=slug)
    if department is None:
        raise LookupError(f"the demo city has no department {slug!r}")
    return department


def _engagement_officer(context: DemoContext) -> Any:
    """Communications' engagement officer: the city's own when it lists one (``people``
    made it, with its second factor), else ``engagement@`` made here through the accounts
    services, with the role and no second factor yet (signing in sets one up, as for
    new.officer@)."""
    listed = _staff(context, ENGAGEMENT_ROLE, ENGAGEMENT_DEPARTMENT)
    if listed is not None:
        return listed
    email = context.city.email(ENGAGEMENT_LOCAL)
    user = user_by_email(email=email)
    if user is None:
        user = accounts_services.user_create(
            email=email, full_name=ENGAGEMENT_NAME, password=context.city.password
        )
        accounts_services.email_mark_verified(user=user, actor=None)
    department = _department(ENGAGEMENT_DEPARTMENT)
    if not user_has_role(user, {ENGAGEMENT_ROLE}, department):
        accounts_services.role_assign(
            user=user, role=ENGAGEMENT_ROLE, department=department, actor=None, system=True
        )
        # Read again: the user read before caches the roles it had then.
        user = user_by_email(email=email) or user
    context.accounts.append(
        DemoAccount(email, user.full_name, "Engagement officer (no MFA yet)", None)
    )
    return user


def _residents(context: DemoContext) -> list[Any]:
    """The demo's residents, the named ones first, read again with their profiles (the
    users ``people`` made hold the profiles as they were before their details were set)."""
    found = {user.pk: user for user in users_with_profiles(ids=[u.pk for u in context.residents])}
    return [found[user.pk] for user in context.residents if user.pk in found]


def _eligible(process: Process, action: str, people: Iterable[Any]) -> list[Any]:
    """Those of ``people`` the process's rule lets do ``action``."""
    return [
        person
        for person in people
        if eligibility_check(process=process, action=action, user=person).allowed
    ]


def _moment(day: date, hour: int = 9) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def _phase_around_today(phase: Phase, actor: Any) -> tuple[date, date]:
    """Move ``phase`` so that today is in it (its length kept as far as it goes); return
    its real dates, for :func:`_phase_back`."""
    real = (phase.starts_on, phase.ends_on)
    day = today()
    processes.phase_update(
        phase=phase,
        kind=phase.kind,
        starts_on=day - (phase.ends_on - phase.starts_on),
        ends_on=day,
        title=phase.title,
        description=phase.description,
        translations=phase.translations,
        actor=actor,
    )
    return real


def _phase_back(phase: Phase, real: tuple[date, date], actor: Any) -> None:
    phase.refresh_from_db()
    processes.phase_update(
        phase=phase,
        kind=phase.kind,
        starts_on=real[0],
        ends_on=real[1],
        title=phase.title,
        description=phase.description,
        translations=phase.translations,
        actor=actor,
    )


def _ward_translations(ward: Any, field_name: str) -> dict[str, dict[str, str]]:
    return {language: {field_name: name} for language, name in (ward.names or {}).items()}


# --- the ballots --------------------------------------------------------------------------


def ballots_draw(
    rng: random.Random,
    *,
    costs: Sequence[int],
    big: Sequence[bool],
    amount: int,
    voters: int,
    big_share: float,
) -> list[list[int]]:
    """``voters`` knapsack ballots (each the positions of the projects chosen) for projects
    costing ``costs``, ``big`` marking the large projects. A share ``big_share`` of the
    voters backs the large projects (each with probability 0.86), the others the small
    ones (0.8); each voter now and then also picks one from the other side (0.07). A ballot
    whose projects cost more than ``amount`` drops projects (at random) until it fits; an
    empty one takes one project of its side. Pure: the same ``rng`` state gives the same
    ballots."""
    large = [index for index, is_big in enumerate(big) if is_big]
    small = [index for index, is_big in enumerate(big) if not is_big]
    drawn: list[list[int]] = []
    for _ in range(voters):
        side, other, keep = (
            (large, small, 0.86) if rng.random() < big_share else (small, large, 0.8)
        )
        chosen = [index for index in side if rng.random() < keep]
        chosen += [index for index in other if rng.random() < 0.07]
        if not chosen:
            chosen = [rng.choice(side)]
        rng.shuffle(chosen)
        while sum(costs[index] for index in chosen) > amount:
            chosen.pop()
        drawn.append(sorted(chosen))
    return drawn


def _paper_key(rng: random.Random, taken: set[str]) -> str:
    """The person key of a made-up paper voter: the key of a national identity number
    (``RV`` and 8 digits, as the official types it from the voter's identity card) that
    is none of ``taken`` (then added to it)."""
    while True:
        key = person_key_for_national_id("RV" + "".join(str(rng.randrange(10)) for _ in range(8)))
        if key not in taken:
            taken.add(key)
            return key


# --- the budget -----------------------------------------------------------------------------


def _budget_phases(day: date) -> list[tuple[str, date, date, str]]:
    """The budget's phases around ``day`` (today): the vote ended two months ago, the
    results were published, and the winners are being delivered."""
    return [
        (
            Phase.Kind.INFORMATION,
            day - timedelta(days=210),
            day - timedelta(days=181),
            "How the budget works",
        ),
        (
            Phase.Kind.PROPOSALS,
            day - timedelta(days=180),
            day - timedelta(days=140),
            "Residents' proposals",
        ),
        (
            Phase.Kind.REVIEW,
            day - timedelta(days=139),
            day - timedelta(days=90),
            "Feasibility review by the departments",
        ),
        (Phase.Kind.VOTE, day - timedelta(days=89), day - timedelta(days=60), "The vote"),
        (Phase.Kind.RESULTS, day - timedelta(days=59), day - timedelta(days=45), "Results"),
        (
            Phase.Kind.FOLLOW_UP,
            day - timedelta(days=44),
            day + timedelta(days=320),
            "Delivering the winning projects",
        ),
    ]


def _budget_load(
    context: DemoContext, officer: Any, result: ParticipationDemoResult
) -> Process | None:
    """The budget process from its proposals to its delivery (see the module's docstring);
    nothing when it exists."""
    if Process.objects.filter(slug=BUDGET_SLUG).exists():
        return None
    wards = jurisdictions_by_code()
    heading_wards = [wards[spec.ward] for spec in HEADINGS]
    process = processes.process_create(
        slug=BUDGET_SLUG,
        title="Riverton budget 2027",
        summary="Residents of Riverside, Northgate and Eastfield decide how £1.2 million of "
        "next year's budget is spent in their ward: £400,000 each.",
        description=textwrap.dedent(
            """\
            In the spring residents proposed projects for their ward, and the departments
            checked that each could be done and what it would cost. Then every resident of
            the three wards aged 16 or over could vote, online or on paper at the ward's
            library, for projects whose costs add up to no more than their ward's £400,000.

            The votes are counted with the Method of Equal Shares: each voter has an equal
            share of the ward's money, and a project is chosen when its supporters' shares
            can pay for it, so that a large group cannot take all the money. The results
            page shows what the usual count, most votes first, would have chosen instead."""
        ),
        department=_department(ENGAGEMENT_DEPARTMENT),
        wards=heading_wards,
        support_threshold=SUPPORT_THRESHOLD,
        translations={
            "fr": {
                "title": "Budget participatif de Riverton 2027",
                "summary": "Les habitants de Riverside, Northgate et Eastfield décident de "
                "l'emploi de 1,2 million de livres du budget de l'an prochain dans leur "
                "quartier : 400 000 livres chacun.",
            },
            "ar": {
                "title": "ميزانية ريفرتون التشاركية 2027",
                "summary": "يقرر سكان ريفرسايد ونورثغيت وإيستفيلد كيف تُنفق 1.2 مليون جنيه "
                "من ميزانية العام المقبل في أحيائهم: 400,000 جنيه لكل حي.",
            },
        },
        actor=officer,
    )
    result.processes.append(process.slug)
    phases = {}
    for kind, starts, ends, title in _budget_phases(today()):
        phases[kind] = processes.phase_add(
            process=process, kind=kind, starts_on=starts, ends_on=ends, title=title, actor=officer
        )
    everyone = processes.RuleSpec(email_verified=True)
    processes.rules_set(
        process=process,
        rules={
            Action.PROPOSE: processes.RuleSpec(email_verified=True, ward_resident=True),
            Action.SUPPORT: everyone,
            Action.COMMENT: everyone,
            Action.VOTE: processes.RuleSpec(
                email_verified=True, ward_resident=True, min_age=VOTING_AGE
            ),
        },
        actor=officer,
    )
    process = processes.process_publish(process=process, actor=officer)
    residents = _residents(context)
    rng = random.Random(context.seed + 1401)  # noqa: S311 - seeded demo data, not a secret
    for resident in residents[2::3]:
        follows.follow_set(
            user=resident, target_kind=Target.PROCESS, target_id=process.pk, following=True
        )

    real = _phase_around_today(phases[Phase.Kind.PROPOSALS], officer)
    made = _proposals_load(
        process=process,
        residents=residents,
        wards=wards,
        officer=officer,
        rng=rng,
        result=result,
    )
    _phase_back(phases[Phase.Kind.PROPOSALS], real, officer)

    budget = budgets.budget_create(
        process=process,
        settings=budgets.BudgetSettings(
            total_amount=HEADING_AMOUNT * len(HEADINGS),
            ballot_kind=Budget.BallotKind.KNAPSACK,
            min_projects=1,
            method=Budget.Method.EQUAL_SHARES,
            completion=True,
        ),
        actor=officer,
    )
    headings = {}
    for spec in HEADINGS:
        ward = wards[spec.ward]
        headings[spec.ward] = budgets.heading_add(
            budget=budget,
            fields=budgets.HeadingFields(
                slug=spec.ward,
                name=ward.name,
                amount=HEADING_AMOUNT,
                ward=ward,
                translations=_ward_translations(ward, "name"),
            ),
            actor=officer,
        )
    projects = _projects_load(context, headings, made, officer, result)

    real = _phase_around_today(phases[Phase.Kind.VOTE], officer)
    _ballots_load(
        context=context,
        process=process,
        headings=headings,
        projects=projects,
        residents=residents,
        officer=officer,
        rng=rng,
        result=result,
    )
    _phase_back(phases[Phase.Kind.VOTE], real, officer)

    budgets.results_compute(budget=budget, actor=officer)
    budgets.results_publish(budget=budget, actor=officer)
    _delivery_load(context, projects, officer, result)
    return process


def _proposals_load(
    *,
    process: Process,
    residents: Sequence[Any],
    wards: dict[str, Any],
    officer: Any,
    rng: random.Random,
    result: ParticipationDemoResult,
) -> dict[str, Proposal]:
    """The residents' proposals (none by the named residents), their supports and
    comments, and the answers to those that reached the threshold."""
    proposers = _eligible(process, Action.PROPOSE, residents[2:])
    supporters = _eligible(process, Action.SUPPORT, residents)
    made: dict[str, Proposal] = {}
    for spec in PROPOSALS:
        ward = wards[spec.ward]
        # A resident of the proposal's ward, each in turn (any proposer when none lives there).
        author = next((p for p in proposers if p.profile.ward_id == ward.pk), proposers[0])
        proposers.remove(author)
        proposers.append(author)
        proposal = proposals.proposal_submit(
            process=process,
            title=spec.title,
            description=spec.description,
            ward=ward,
            author=author,
            actor=author,
        )
        made[spec.key] = proposal
        result.proposals += 1
        backers = [person for person in supporters if person.pk != author.pk]
        for supporter in rng.sample(backers, min(spec.supports, len(backers))):
            proposals.support_add(
                proposal=proposal,
                person_key=person_key_for_user(supporter),
                channel=Channel.ONLINE,
                actor=supporter,
            )
            result.supports += 1
    commenters = _eligible(process, Action.COMMENT, residents[2:])
    for said in PROPOSAL_COMMENTS:
        author, *others = rng.sample(commenters, 4)
        comment = comments.comment_post(
            target_kind=Target.PROPOSAL,
            target_id=made[said.on].pk,
            body=said.body,
            author=author,
            actor=author,
        )
        result.comments += 1
        for reply, replier in zip(said.replies, others, strict=False):
            comments.comment_post(
                target_kind=Target.PROPOSAL,
                target_id=made[said.on].pk,
                body=reply,
                parent=comment,
                author=replier,
                actor=replier,
            )
            result.comments += 1
        if said.hidden:
            for flagger in others[:2]:
                comments.comment_flag(
                    comment=comment, reason=CommentFlag.Reason.OFFENSIVE, user=flagger
                )
            comments.comment_hide(comment=comment, reason=said.hidden, actor=officer)
    for spec in PROPOSALS:
        if spec.answer:
            made[spec.key] = proposals.proposal_answer(
                proposal=made[spec.key], answer=spec.answer, text=spec.answer_text, actor=officer
            )
    return made


def _projects_load(
    context: DemoContext,
    headings: dict[str, Any],
    made: dict[str, Proposal],
    officer: Any,
    result: ParticipationDemoResult,
) -> dict[str, Project]:
    """The 24 projects (from the accepted proposals or put in by the engagement officer),
    each reviewed by its department."""
    projects: dict[str, Project] = {}
    for spec in HEADINGS:
        heading = headings[spec.ward]
        for item in spec.projects:
            department = _department(item.department)
            if item.proposal:
                project = budgets.project_from_proposal(
                    proposal=made[item.proposal],
                    heading=heading,
                    department=department,
                    cost=Decimal(item.cost),
                    actor=officer,
                )
            else:
                project = budgets.project_add(
                    heading=heading,
                    title=item.title,
                    description=item.description,
                    department=department,
                    cost=Decimal(item.cost),
                    actor=officer,
                )
            reviewer = _reviewer(context, item.department) or officer
            if item.not_feasible:
                budgets.project_review(
                    project=project,
                    feasibility=Project.Feasibility.NOT_FEASIBLE,
                    reason=item.not_feasible,
                    actor=reviewer,
                )
            else:
                budgets.project_review(
                    project=project,
                    feasibility=Project.Feasibility.FEASIBLE,
                    cost=Decimal(item.revised_cost) if item.revised_cost else None,
                    reason="A survey found the stonework needs more repair than first thought."
                    if item.revised_cost
                    else "",
                    actor=reviewer,
                )
            project.refresh_from_db()
            projects[item.key] = project
            result.projects += 1
    return projects


def _reviewer(context: DemoContext, department: str) -> Any:
    """Who reviews a department's projects: its supervisor, else its administrator."""
    return _staff(context, "supervisor", department) or _staff(
        context, "department_admin", department
    )


def _ballots_load(
    *,
    context: DemoContext,
    process: Process,
    headings: dict[str, Any],
    projects: dict[str, Project],
    residents: Sequence[Any],
    officer: Any,
    rng: random.Random,
    result: ParticipationDemoResult,
) -> None:
    """Every heading's ballots (:func:`ballots_draw`): first the residents of its ward who
    may vote, online (the first two of a ward voted on paper before, and the third changes
    their mind once), then made-up voters on paper, entered by the library helper or the
    engagement officer, until the heading has its voters."""
    clerks = [user for user in (_staff(context, "intermediary", None), officer) if user is not None]
    voters = _eligible(process, Action.VOTE, residents)
    # No made-up voter may be one of the demo's residents (of any ward).
    taken = {person_key_for_user(person) for person in residents}
    for spec in HEADINGS:
        heading = headings[spec.ward]
        on_ballot = [projects[item.key] for item in spec.projects if not item.not_feasible]
        drawn = ballots_draw(
            rng,
            costs=[int(project.cost) for project in on_ballot],
            big=[item.big for item in spec.projects if not item.not_feasible],
            amount=int(heading.amount),
            voters=spec.voters,
            big_share=spec.big_share,
        )
        ward_voters = [
            person
            for person in voters
            if heading_access(heading, user=person, channel=Channel.ONLINE).allowed
        ]
        for position, choices in enumerate(drawn):
            ids = [on_ballot[index].pk for index in choices]
            if position < len(ward_voters):
                person = ward_voters[position]
                key = person_key_for_user(person)
                if position < 2:
                    # Voted at the library first; the later online ballot replaces it.
                    budgets.ballot_cast(
                        heading=heading,
                        project_ids=[on_ballot[-1].pk],
                        person_key=key,
                        channel=Channel.PAPER,
                        entered_by=clerks[0],
                        actor=clerks[0],
                    )
                elif position == 2:
                    budgets.ballot_cast(
                        heading=heading,
                        project_ids=[on_ballot[0].pk],
                        person_key=key,
                        channel=Channel.ONLINE,
                        actor=person,
                    )
                budgets.ballot_cast(
                    heading=heading,
                    project_ids=ids,
                    person_key=key,
                    channel=Channel.ONLINE,
                    actor=person,
                )
            else:
                clerk = clerks[position % len(clerks)]
                budgets.ballot_cast(
                    heading=heading,
                    project_ids=ids,
                    person_key=_paper_key(rng, taken),
                    channel=Channel.PAPER,
                    entered_by=clerk,
                    actor=clerk,
                )
            result.ballots += 1


def _delivery_load(
    context: DemoContext,
    projects: dict[str, Project],
    officer: Any,
    result: ParticipationDemoResult,
) -> None:
    """The delivery status and milestones of the winners :data:`DELIVERY` describes,
    reported by their departments."""
    day = today()
    for key, (status, milestones) in DELIVERY.items():
        project = projects[key]
        project.refresh_from_db()
        if not project.selected:
            continue
        reporter = _reviewer(context, project.department.slug) or officer
        for days, title, description in milestones:
            budgets.milestone_add(
                project=project,
                title=title,
                description=description,
                happened_on=day - timedelta(days=days),
                actor=reporter,
            )
            result.milestones += 1
        budgets.delivery_set(project=project, delivery=status, actor=reporter)


# --- the consultation and the survey --------------------------------------------------------


def _questions(text: str) -> list[dict[str, Any]]:
    questions, problems = consultations.questions_read(text)
    if problems:
        raise ValueError("; ".join(problems))
    return questions


def _regeneration_answers(rng: random.Random) -> dict[str, Any]:
    overall = rng.choices(
        ["strongly_support", "support", "neutral", "oppose", "strongly_oppose"],
        weights=[22, 34, 14, 18, 12],
    )[0]
    priorities = [
        value
        for value, chance in (
            ("homes", 0.55),
            ("park", 0.7),
            ("flood", 0.6),
            ("bus", 0.35),
            ("shops", 0.3),
        )
        if rng.random() < chance
    ] or ["park"]
    height = rng.choices(["too_high", "about_right", "could_be_higher"], weights=[46, 40, 14])[0]
    return {
        "overall": overall,
        "priorities": priorities,
        "height": height,
        "comments": rng.choice(REGENERATION_REMARKS),
    }


def _outcome(answers: Sequence[dict[str, Any]], paper: int) -> str:
    """The published outcome, with the responses' own figures."""
    total = len(answers)
    overall = Counter(answer["overall"] for answer in answers)
    height = Counter(answer["height"] for answer in answers)
    park = sum("park" in answer["priorities"] for answer in answers)
    flood = sum("flood" in answer["priorities"] for answer in answers)

    def share(count: int) -> int:
        return round(100 * count / total)

    support = overall["strongly_support"] + overall["support"]
    oppose = overall["strongly_oppose"] + overall["oppose"]
    return textwrap.dedent(
        f"""\
        What we heard

        {total} people responded, {paper} of them at the drop-in sessions in Riverside
        library. {share(support)}% support the draft plan as a whole and {share(oppose)}%
        oppose it. The new riverside park ({share(park)}%) and the flood defences
        ({share(flood)}%) matter most to people. {share(height["too_high"])}% think
        buildings of up to 8 storeys by the river are too high.

        What we will do

        The final plan limits buildings next to the river to 6 storeys, stepping up to 8
        only at the back of the gasworks site, and keeps the old gasworks building. The
        flood defences along River Walk will be built first, before any homes, and the
        park will open in the same phase. The final plan goes to the council's planning
        committee in March."""
    )


def _regeneration_load(context: DemoContext, result: ParticipationDemoResult) -> None:
    """The regeneration plan's consultation, from its responses to its outcome."""
    if Process.objects.filter(slug=REGENERATION_SLUG).exists():
        return
    organiser = _staff(context, "department_admin", "planning-building")
    clerk = _staff(context, "case_officer", "planning-building") or _staff(
        context, "intermediary", None
    )
    if organiser is None:
        return
    wards = jurisdictions_by_code()
    day = today()
    process = processes.process_create(
        slug=REGENERATION_SLUG,
        title="Riverside regeneration plan",
        summary="The plan for the old gasworks site and the riverside: new homes, a park, "
        "flood defences and a new bus station. Tell us what you think.",
        description="The draft plan proposes 350 new homes on the old gasworks site, 30% of "
        "them affordable, a new riverside park, stronger flood defences along River Walk, and "
        "moving the bus station next to the railway station.",
        department=_department("planning-building"),
        wards=[wards["riverside"]],
        translations={
            "fr": {"title": "Plan de réaménagement de Riverside"},
            "ar": {"title": "خطة تجديد ريفرسايد"},
        },
        actor=organiser,
    )
    result.processes.append(process.slug)
    for kind, starts, ends in (
        (Phase.Kind.INFORMATION, day - timedelta(days=120), day - timedelta(days=91)),
        (Phase.Kind.DEBATE, day - timedelta(days=90), day - timedelta(days=35)),
        (Phase.Kind.RESULTS, day - timedelta(days=34), day + timedelta(days=90)),
    ):
        processes.phase_add(
            process=process, kind=kind, starts_on=starts, ends_on=ends, actor=organiser
        )
    processes.rule_set(
        process=process,
        action=Action.RESPOND,
        spec=processes.RuleSpec(email_verified=True),
        actor=organiser,
    )
    process = processes.process_publish(process=process, actor=organiser)
    now = timezone.now()
    consultation = consultations.consultation_create(
        process=process,
        data=consultations.ConsultationInput(
            title="The draft Riverside regeneration plan",
            kind=Consultation.Kind.CONSULTATION,
            body="Read the draft plan and tell us what you think of it: what matters most to "
            "you, and what should change before it goes to the planning committee.",
            opens_at=_moment(day - timedelta(days=90)),
            closes_at=now + timedelta(hours=1),
            questions=_questions(REGENERATION_QUESTIONS),
        ),
        actor=organiser,
    )
    consultations.consultation_open(consultation=consultation, actor=organiser)
    rng = random.Random(context.seed + 1402)  # noqa: S311 - seeded demo data, not a secret
    residents = _residents(context)
    respondents = _eligible(process, Action.RESPOND, residents[:1] + residents[2:])
    given: list[dict[str, Any]] = []
    for person in rng.sample(respondents, min(len(respondents), 44)):
        answers = _regeneration_answers(rng)
        consultations.response_record(
            consultation=consultation,
            answers=answers,
            person_key=person_key_for_user(person),
            channel=Channel.ONLINE,
            actor=person,
        )
        given.append(answers)
    taken = {person_key_for_user(person) for person in residents}
    paper = 0
    for _ in range(118 if clerk is not None else 0):
        answers = _regeneration_answers(rng)
        consultations.response_record(
            consultation=consultation,
            answers=answers,
            person_key=_paper_key(rng, taken),
            channel=Channel.PAPER,
            entered_by=clerk,
            actor=clerk,
        )
        given.append(answers)
        paper += 1
    result.responses += len(given)
    commenters = _eligible(process, Action.COMMENT, residents[2:])
    first, second = rng.sample(commenters, 2)
    comment = comments.comment_post(
        target_kind=Target.CONSULTATION,
        target_id=consultation.pk,
        body="Eight storeys by the river is too high: it would block the view of the river "
        "from Castle Hill.",
        author=first,
        actor=first,
    )
    comments.comment_post(
        target_kind=Target.CONSULTATION,
        target_id=consultation.pk,
        body="Taller buildings here mean more homes on old industrial land instead of on "
        "the fields.",
        parent=comment,
        author=second,
        actor=second,
    )
    result.comments += 2
    consultation = consultations.consultation_update(
        consultation=consultation,
        data=consultations.ConsultationInput(
            title=consultation.title,
            kind=consultation.kind,
            body=consultation.body,
            opens_at=consultation.opens_at,
            closes_at=_moment(day - timedelta(days=35), 23),
            questions=consultation.questions,
        ),
        actor=organiser,
    )
    consultations.consultation_close(consultation=consultation, actor=organiser)
    consultations.outcome_publish(
        consultation=consultation, outcome=_outcome(given, paper), actor=organiser
    )


def _parks_load(context: DemoContext, officer: Any, result: ParticipationDemoResult) -> None:
    """The parks survey, open for six more weeks, answered by some residents already."""
    if Process.objects.filter(slug=PARKS_SLUG).exists():
        return
    day = today()
    process = processes.process_create(
        slug=PARKS_SLUG,
        title="Parks and green spaces",
        summary="Tell us how you use Riverton's parks and what would make them better. The "
        "answers shape the parks strategy for the next ten years.",
        description="",
        department=_department(ENGAGEMENT_DEPARTMENT),
        wards=[],
        translations={
            "fr": {
                "title": "Parcs et espaces verts",
                "summary": "Dites-nous comment vous utilisez les parcs de Riverton et ce qui "
                "les rendrait meilleurs.",
            },
            "ar": {
                "title": "الحدائق والمساحات الخضراء",
                "summary": "أخبرنا كيف تستخدم حدائق ريفرتون وما الذي يجعلها أفضل.",
            },
        },
        actor=officer,
    )
    result.processes.append(process.slug)
    processes.phase_add(
        process=process,
        kind=Phase.Kind.INFORMATION,
        starts_on=day - timedelta(days=14),
        ends_on=day + timedelta(days=42),
        title="Survey",
        actor=officer,
    )
    processes.rule_set(
        process=process,
        action=Action.RESPOND,
        spec=processes.RuleSpec(anonymous_allowed=True),
        actor=officer,
    )
    process = processes.process_publish(process=process, actor=officer)
    survey = consultations.consultation_create(
        process=process,
        data=consultations.ConsultationInput(
            title="Parks and green spaces survey",
            kind=Consultation.Kind.SURVEY,
            body="Five short questions, about three minutes. You can answer without an "
            "account: we will send you an email to confirm your answers.",
            opens_at=_moment(day - timedelta(days=14)),
            closes_at=_moment(day + timedelta(days=42), 23),
            questions=_questions(PARKS_QUESTIONS),
            translations={
                "fr": {"title": "Enquête sur les parcs et espaces verts"},
                "ar": {"title": "استبيان الحدائق والمساحات الخضراء"},
            },
        ),
        actor=officer,
    )
    consultations.consultation_open(consultation=survey, actor=officer)
    rng = random.Random(context.seed + 1403)  # noqa: S311 - seeded demo data, not a secret
    others = _residents(context)[2:]
    for person in rng.sample(others, min(len(others), 30)):
        consultations.response_record(
            consultation=survey,
            answers={
                "visits": rng.choices(
                    ["daily", "weekly", "monthly", "rarely", "never"], weights=[18, 38, 22, 16, 6]
                )[0],
                "park": rng.choice(
                    ["kingfisher", "northgate_rec", "castle_hill", "meadow_rise", "other"]
                ),
                "improvements": [
                    value
                    for value, chance in (
                        ("toilets", 0.6),
                        ("lighting", 0.5),
                        ("seating", 0.35),
                        ("play", 0.3),
                        ("cleaner", 0.45),
                        ("events", 0.25),
                    )
                    if rng.random() < chance
                ]
                or ["toilets"],
                "safe_after_dark": rng.choices(
                    ["very_safe", "fairly_safe", "unsafe", "very_unsafe"], weights=[10, 38, 36, 16]
                )[0],
                "ideas": rng.choice(PARKS_IDEAS),
            },
            person_key=person_key_for_user(person),
            channel=Channel.ONLINE,
            actor=person,
        )
        result.responses += 1
    for person in others[1::4]:
        processes.news_subscribe(user=person, actor=person)
    processes.invitation_send(process=process, actor=officer)


# --- the loader -----------------------------------------------------------------------------


def participation_demo_load(context: DemoContext) -> ParticipationDemoResult:
    """Make the budget, the consultation, the survey and the proposals (see the module's
    docstring), each unless its process exists.

    Preconditions: the ``people`` loader ran (departments, wards, officials,
    ``context.residents`` with their profiles). Side effects: everything through the
    participation services (audited), the engagement officer's account when the city
    lists none, notifications to followers and invited residents."""
    result = ParticipationDemoResult()
    officer = _engagement_officer(context)
    _budget_load(context, officer, result)
    _regeneration_load(context, result)
    _parks_load(context, officer, result)
    return result


def demo_note(context: DemoContext) -> str:
    """What ``ecitizen demo`` prints about participation."""
    officer = context.city.email(ENGAGEMENT_LOCAL)
    return (
        "Participation: /participate/ has Riverton budget 2027 (vote closed, results "
        f"published at /participate/{BUDGET_SLUG}/budget/results/: greedy and equal shares "
        "choose different winners), the Riverside regeneration plan (closed, with its "
        "outcome) and the parks survey, open now (resident@ can answer it). "
        f"{officer} runs them at /staff/participation/. "
        f"`ecitizen participation export-pabulib {BUDGET_SLUG} budget-2027.pb` writes the "
        "budget's ballots as a Pabulib file."
    )


def demo_participation_load(context: DemoContext) -> ParticipationDemoResult:
    """The ``participation`` loader (:func:`participation_demo_load`), with its note."""
    result = participation_demo_load(context)
    context.notes.append(demo_note(context))
    return result
