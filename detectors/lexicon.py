"""Word lists behind ``detectors.prompts``: capability areas, prompt scaffolding, reasoning cues.

Everything here is data, written by hand from general knowledge of each field (not
mined from any traffic, simulated or real), plus the few helpers that expand it into
lookup tables at import time. Words are lower-case single tokens as the prompt
tokenizer produces them (runs of ASCII letters, "_" and non-ASCII characters:
``"let's"`` gives ``let`` and ``s``; ``"c++"`` gives ``c``; digits are not tokens), so
multi-word terms are listed by their most telling word.

The capability areas (``AREAS``, in index order), chosen to cover the areas public
reports on distillation campaigns list, plus the everyday traffic they hide in:

* ``math``: arithmetic to proofs, word problems, statistics and probability.
* ``coding``: programming, debugging, algorithms, data tools, devops.
* ``reasoning``: logic puzzles, riddles, syllogisms, deduction, sequences.
* ``science``: physics, chemistry, biology, astronomy, earth science.
* ``medicine``: symptoms, diagnosis, drugs and doses, clinical cases.
* ``law``: contracts, disputes, rights, criminal and civil procedure, IP, compliance.
* ``finance``: investing, banking, tax, accounting, personal finance, crypto.
* ``business``: strategy, marketing, sales, management, HR, customer support.
* ``creative_writing``: stories, poems, lyrics, scripts, characters, world-building.
* ``writing_editing``: summarising, rewriting, proofreading, e-mails and essays.
* ``tool_use``: function calls, tools and APIs, agents, browsing, JSON schemas.
* ``multilingual``: translation requests and prompts in other languages or scripts.
* ``safety_probing``: jailbreaks, instruction overrides, weapons, malware, drugs,
  fraud, self-harm.
* ``history_humanities``: history, philosophy, religion, literature, art, geography.
* ``social_science``: psychology, sociology, politics, economics as a social science.
* ``education``: lesson plans, quizzes, tutoring, studying, explaining to learners.
* ``everyday``: cooking, travel, home, pets, relationships, shopping, leisure.

Area vocabularies come in three tiers of evidence: *strong* (a word that by itself
names the field: ``eigenvalue``, ``plaintiff``, ``ransomware``), *medium* (typical of
the field but seen elsewhere: ``equation``, ``contract``) and *weak* (a hint that
only counts together with others: ``solve``, ``rate``). Strong safety-probing words
weigh more than other strong words, so that "make a bomb with household chemicals" is
safety probing, not chemistry. A plain English plural (``+s``) is added for every word
automatically; other inflections are listed.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

#: Capability areas, in the fixed order that ``PromptProfile.area`` indexes.
AREAS: Final[tuple[str, ...]] = (
    "math",
    "coding",
    "reasoning",
    "science",
    "medicine",
    "law",
    "finance",
    "business",
    "creative_writing",
    "writing_editing",
    "tool_use",
    "multilingual",
    "safety_probing",
    "history_humanities",
    "social_science",
    "education",
    "everyday",
)

#: Evidence weight of each tier.
STRONG: Final = 2.0
#: Strong safety-probing words (weapons, malware, jailbreak) outweigh any one topic word.
SAFETY_STRONG: Final = 3.0
MEDIUM: Final = 1.0
WEAK: Final = 0.4

# area -> (strong words, medium words, weak words), whitespace separated.
_AREA_WORDS: Final[dict[str, tuple[str, str, str]]] = {
    "math": (
        """algebra algebraic calculus derivative antiderivative integral integrand
        theorem lemma corollary polynomial polynomials quadratic cubic eigenvalue
        eigenvector eigenvalues eigenvectors matrix matrices determinant trigonometry
        trigonometric hypotenuse pythagorean logarithm logarithms logarithmic factorial
        combinatorics combinatorial permutation permutations gcd lcm modulo modular
        asymptote asymptotes parabola hyperbola ellipse isomorphism homomorphism
        topology topological manifold diophantine congruence congruent parallelogram
        trapezoid rhombus polygon polyhedron sqrt arithmetic arcsin arccos arctan
        differentiate differentiable differentiation denominator
        numerator divisible divisibility divisor divisors coprime subgroup eigen
        binomial multinomial geometric geometry bijection injective surjective
        infinitesimal riemann euclidean tangent cosine sine vertices
        mathematically mathematical mathematician maths math
        summation decagon hexagon pentagon octagon heptagon nonagon quadrilateral
        diagonal diagonals convex concave""",
        """equation equations fraction fractions exponent exponents exponential prime
        primes integer integers rational irrational radius diameter circumference
        perimeter triangle triangles angle angles slope intercept vector vectors
        probability probabilities converge convergence divergent series sequence
        sequences median variance deviation statistics statistical axiom conjecture
        proof prove proves proven lim limit limits sin cos tan ln digits
        digit ratio proportion quotient remainder simplify simplified factorize
        polynomial cube cubes squared sum sums graph graphs coordinate coordinates
        theorem dimension dimensional dice coin coins marbles urn lottery
        integration integrate""",
        """solve solving solved calculate calculating compute computing evaluate
        evaluated value values number numbers total average x y z n k area volume
        percent percentage divided multiply multiplied subtract minus plus equal
        equals greater twice half complex function functions positive negative odd
        square root roots minimum maximum optimize log mod factor factors product
        products plane planes random expected expectation series inequality
        inequalities""",
    ),
    "coding": (
        """python javascript typescript java golang rust cpp csharp kotlin haskell scala
        php perl matlab numpy pandas dataframe dataframes pytorch tensorflow sklearn
        django flask fastapi react vue angular nodejs npm pip git github gitlab regex
        regexp sql mysql postgres postgresql sqlite mongodb redis kubernetes docker
        dockerfile bash powershell html css json_schema api_key compiler compile
        compiles compiled compilation debug debugging debugger traceback stacktrace
        segfault refactor refactoring recursion recursive recursively boolean
        booleans hashmap hashtable linkedlist struct structs enum enums typedef
        const async await coroutine coroutines mutex deadlock multithreading
        unittest pytest jest leetcode codebase repo repository repositories
        programming programmer coder coding snippet syntax def println printf
        stdout stderr stdin args kwargs lambda iterator iterators
        polymorphism oop backend frontend fullstack
        microservice microservices webpack linter linting eslint rustc cargo gcc
        clang makefile cmake runtime nullptr nan str int bool dict
        tuple tuples varchar nginx apache linux ubuntu bugfix stackoverflow
        swiftui android ios xcode gradle maven junit selenium jupyter
        llvm wasm webassembly graphql grpc http https tcp udp websocket""",
        """code codes function method methods class classes variable variables array
        inheritance decorator decorators generator generators shell null undefined
        notebook
        arrays string strings integer loop loops algorithm algorithms implement
        implementation bug bugs error exception exceptions stack queue heap tree
        trees binary pointer pointers memory thread threads database databases query
        queries server client backend script scripts program programs library
        libraries framework frameworks module modules install
        deploy deployment terminal command cli complexity runtime endpoint
        endpoints api apis parse parser parsing serialize deserialize
        object objects constructor interface interfaces compile test tests
        testing regex file files directory path paths""",
        """write fix optimize optimise build run running app application software
        develop developer data type types list lists map sort sorting search key
        keys value index node nodes graph efficient performance version input
        output template unit""",
    ),
    "reasoning": (
        """riddle riddles puzzle puzzles brainteaser brainteasers syllogism syllogisms
        knights knaves liar liars fallacy fallacies paradox paradoxes sudoku
        deduce deduced deduction deductive inductive abductive entailment entail
        entails tautology contrapositive converse premise premises lateral
        counterfactual seating truthteller truthful syllogistic""",
        """logic logical logically inference infer inferred implies implication
        conclusion conclude valid invalid contradiction contradict statement
        statements clue clues hypothetical scenario assumption assumptions
        analogy analogies pattern patterns sequence arrangement arranged taller
        shorter older younger heavier lighter fastest slowest sits sitting
        neighbor neighbour opposite lying lies truth argument arguments valid
        validity sound""",
        """therefore thus hence neither exactly true false position follows""",
    ),
    "science": (
        """physics chemistry biology astronomy astrophysics geology ecology
        thermodynamics thermodynamic entropy enthalpy quantum relativity
        electromagnetism electromagnetic photon photons electron electrons proton
        protons neutron neutrons molecule molecules molecular atom atoms atomic
        isotope isotopes stoichiometry molarity molar reagent reagents catalyst
        oxidation redox titration photosynthesis mitochondria
        chloroplast ribosome ribosomes dna rna genome genomics gene genes genetic
        genetics allele alleles chromosome chromosomes enzyme enzymes protein
        proteins organism organisms ecosystem ecosystems evolution evolutionary
        darwin species taxonomy biome galaxy galaxies nebula supernova exoplanet
        telescope cosmology cosmic planet planets orbit orbital gravitational
        gravity momentum acceleration velocity kinematics newtonian newton joule
        joules watt watts voltage ohm circuit circuits capacitor resistor
        semiconductor wavelength refraction diffraction optics lens lenses
        pendulum projectile friction torque buoyancy viscosity kelvin plasma
        fusion fission radioactive radioactivity hydrocarbon hydrocarbons
        covalent ionic valence orbitals periodic electronegativity ph acids
        tectonic tectonics volcano volcanoes earthquake earthquakes sediment
        fossil fossils mineral minerals meteorology atmospheric
        microbiology bacteria bacterium neuron neurons scientific scientist
        scientists laboratory spectroscopy chemical chemicals chemist
        physicist biologist mitosis meiosis osmosis homeostasis cytoplasm
        metabolism respiration nucleotide nucleotides""",
        """energy kinetic potential force forces mass density pressure temperature
        heat experiment experiments hypothesis theory reaction reactions compound
        compounds element elements acid gas gases liquid
        solid magnetic electric electricity charge wave waves sound
        frequency climate atmosphere oxygen carbon hydrogen nitrogen water star
        stars sun moon earth universe nucleus cell cells reduction decay
        spectrum sky sunset sunlight rainbow holes membrane tissue virus viruses lab
        speed""",
        """particle particles field nature natural measure measurement light current base
        observe observation sample samples rate""",
    ),
    "medicine": (
        """medical medicine medicines clinical clinician physician physicians
        diagnosis diagnoses diagnose diagnosed diagnostic symptom symptoms
        syndrome disease diseases disorder disorders pathology pathophysiology
        pharmacology pharmacokinetics dosage dose doses medication medications
        prescription prescribed antibiotic antibiotics antiviral vaccine vaccines
        vaccination surgery surgical surgeon anesthesia oncology cancer cancers
        tumor tumour carcinoma chemotherapy diabetes diabetic insulin hypertension
        cardiac cardiology cardiovascular myocardial arrhythmia asthma
        copd pneumonia sepsis infection infections infectious inflammation
        inflammatory arthritis dementia alzheimer parkinson epilepsy seizure
        seizures migraine fever nausea vomiting diarrhea rash allergy allergic
        anaphylaxis fracture fractures ecg ekg mri biopsy prognosis etiology
        contraindication contraindications comorbidity triage icu nursing
        pediatric pediatrics obstetrics pregnancy pregnant prenatal postpartum
        psychiatric psychiatry antidepressant ssri dermatology hepatitis hiv
        tuberculosis malaria covid influenza ibuprofen acetaminophen
        paracetamol aspirin statin statins mg usmle anatomy physiology
        cholesterol thyroid kidney renal liver hepatic lungs pulmonary
        hemoglobin anemia platelet platelets leukemia lymphoma therapeutic
        patients hospital doctor doctors nurse nurses""",
        """health healthcare patient stroke aids flu wrist ankle knee bone bones
        sprain sprained recover recovery heal healing sick illness treatment treatments
        therapy therapies drug drugs pain
        chronic acute blood heart lung lungs brain injury injuries wound clinic
        disease condition conditions side effects risk risks immune chest
        headache cough sore infection bleeding pills pill tablet tablets""",
        """body sleep diet weight care safe effects effect test tests cold""",
    ),
    "law": (
        """legal legally illegal lawsuit lawsuits litigation plaintiff plaintiffs
        defendant defendants tort torts negligence liability liable statute
        statutes statutory jurisdiction jurisdictions attorney attorneys lawyer
        lawyers counsel solicitor barrister judge judges judicial judiciary court
        courts courtroom verdict sentencing felony misdemeanor indictment
        prosecutor prosecution prosecuted subpoena testimony affidavit deposition
        injunction arbitration mediation appellate precedent
        precedents constitutional unconstitutional amendment amendments
        legislation legislative legislature ordinance ordinances copyright
        copyrights trademark trademarks patent patents infringement gdpr hipaa
        ccpa indemnity indemnification contractual tenant
        tenants landlord landlords eviction custody alimony probate testator
        intestate notary paralegal bail parole probation acquittal acquitted
        convicted conviction habeas tribunal mens rea estoppel easement
        fiduciary plea pleas lawful unlawful majeure wrongful""",
        """law laws appeal appeals clause clauses breach contract contracts
        agreement agreements rights regulation regulations
        regulatory compliance crime crimes criminal civil evidence lease divorce
        inheritance estate immigration visa asylum citizenship police arrest
        arrested sue suing sued damages penalty penalties fines license
        licence privacy policy enforce enforceable binding signed employer
        employers termination dismissal harassment discrimination fired""",
        """rule rules case cases claim claims party parties right allowed legal
        permit state federal government""",
    ),
    "finance": (
        """finance financial investing investment investments investor investors
        portfolio portfolios dividend dividends stock stocks equities bond bonds
        etf etfs mortgage mortgages refinance amortization depreciation
        accounting accountant bookkeeping ledger payable receivable ebitda npv irr
        wacc dcf valuation capm volatility hedging futures
        forex brokerage 401k ira roth annuity annuities pension pensions
        retirement inflation deflation recession gdp monetary fiscal treasury
        crypto cryptocurrency bitcoin ethereum blockchain trading trader
        traders liquidity solvency collateral debit lender lending borrower
        loan loans apr apy banking budgeting savings tax taxes taxable
        deductible irs payroll ifrs gaap financially finances""",
        """yields credit leverage compound compounding bank banks budget audit
        auditing hedge derivatives interest rate rates income expenses expense revenue
        profit profits loss
        losses asset assets liabilities liability equity capital cash money
        price prices market markets fund funds debt debts insurance premium
        premiums currency currencies exchange economy economic economics
        salary wage wages invest save saving spend spending cost costs fee fees
        payment payments pay afford""",
        """value return returns growth risk percent annual monthly yearly dollar
        dollars euro euros usd balance account accounts""",
    ),
    "business": (
        """business businesses startup startups entrepreneur entrepreneurs
        marketing marketer branding brand brands advertising advertisement ads
        seo sem crm saas b2b b2c ecommerce kpi kpis okr okrs roadmap swot
        stakeholder stakeholders shareholder shareholders ceo cfo cto coo
        executive executives management manager managers procurement logistics
        vendor vendors invoice invoices onboarding recruiting recruiter
        hiring headcount layoffs leadership negotiation negotiate competitor
        competitors monetization pricing upsell churn
        merger mergers acquisitions franchise wholesale retail retailer gtm
        scrum agile fundraising""",
        """pitch deck sprint supply retention acquisition investors seed venture
        company companies customer customers client clients sales sell selling
        product products service services team teams employee employees staff
        hr meeting meetings strategy strategic market launch growth partner
        partners partnership operations project projects deadline deliverable
        deliverables proposal proposals campaign campaigns report quarterly
        revenue profit organization organisation corporate office workplace
        boss colleague colleagues coworker coworkers support ticket tickets
        shipping refund refunds complaint complaints orders""",
        """plan plans goal goals target targets performance industry firm job jobs
        work career resume interview business""",
    ),
    "creative_writing": (
        """poem poems poetry poet haiku haikus sonnet sonnets limerick limericks
        stanza stanzas verse verses rhyme rhymes rhyming lyric lyrics ballad
        fiction fictional novel novels novella screenplay screenwriting
        storytelling storyteller protagonist antagonist villain villains
        worldbuilding fantasy scifi dystopian utopian fairy fable fables
        myth dragon dragons wizard wizards witch witches
        spaceship alien aliens monologue soliloquy plotline
        narrator narrative narratives prologue epilogue
        fanfic fanfiction roleplay creative creatively imaginative
        metaphor metaphors whimsical""",
        """plot plots chapter chapters legend legends allegory story stories tale
        tales character characters scene scenes dialogue
        song songs script scripts imagine adventure hero heroine magic magical
        kingdom princess prince knight mysterious haunted ghost ghosts robot
        robots""",
        """dark night dream dreams love heart journey style voice mood vivid
        write""",
    ),
    "writing_editing": (
        """tldr paraphrase paraphrasing rephrase rephrasing reword rewording
        proofread proofreading copyedit grammatical ungrammatical punctuation typo
        typos spelling misspelled condense shorten conciseness readability""",
        """summarize summarise summarized summarised summarizing summarising summary
        summaries rewrite rewriting rewritten grammar concise transcript
        transcripts edit editing edited essay essays email emails letter letters blog
        article articles paragraph paragraphs headline headlines caption
        captions draft drafts tone formal informal polish improve clarity
        wording sentence sentences outline bullet bullets memo newsletter
        abstract abstracts cover document documents text""",
        """write writing written short brief key main points passage words
        professional friendly clear""",
    ),
    "tool_use": (
        """tool_call tool_calls function_call function_calls functions_call toolcall
        agentic plugin plugins webhook webhooks openapi curl api_call action_input
        scratchpad browse browsing retrieval orchestrate orchestration mcp
        get_weather search_web web_search invoke invoking invocation zapier""",
        """tool tools agent agents observation observations automation json
        schema schemas api apis endpoint endpoints arguments parameters
        call calls calling execute executing executed action actions workflow
        workflows weather calendar booking schedule scheduling query fetch retrieve""",
        """result results plan task tasks user search available access""",
    ),
    "multilingual": (
        """translate translated translating translation translations translator
        translators bilingual multilingual localize localization localisation
        transliterate transliteration interpreter italiano español espanol
        français francais deutsch português portugues nederlands русский 中文
        日本語 한국어""",
        """language languages idiom idioms pronounce pronunciation conjugate
        conjugation fluent fluently grammar vocabulary french spanish german
        italian portuguese chinese mandarin cantonese japanese korean russian
        arabic hindi bengali urdu punjabi turkish vietnamese thai indonesian malay
        dutch polish swedish norwegian danish finnish greek hebrew persian farsi
        swahili ukrainian czech romanian hungarian tagalog filipino tamil telugu
        marathi gujarati amharic yoruba hausa zulu latin catalan basque serbian
        croatian bulgarian slovak""",
        """native speaker speakers phrase phrases say""",
    ),
    "safety_probing": (
        """jailbreak jailbreaks jailbroken jailbreaking uncensored unfiltered
        unrestricted unaligned guardrails guardrail malware ransomware keylogger
        keyloggers trojan trojans rootkit rootkits botnet botnets ddos shellcode
        spyware phishing exploit exploits zeroday bomb bombs explosive
        explosives detonate detonator grenade grenades napalm thermite sarin
        ricin anthrax bioweapon bioweapons toxin toxins methamphetamine meth fentanyl
        heroin cocaine untraceable
        launder laundering counterfeit counterfeiting hitman assassinate
        kidnap kidnapping smuggle smuggling trafficking stalking doxx
        doxxing swatting suicide selfharm weapon weapons firearm
        firearms ammunition ammo silencer""",
        """ignore disregard bypass bypassing circumvent evade evading restrictions
        restriction censorship censored unethical illegal illegally hack
        hacking hacker hackers crack cracking steal stealing stolen credentials
        antivirus undetectable untraceable
        kill killing murder harm harmful dangerous dan evil nerve poison poisons
        poisoning lethal stalk""",
        """instructions previous prior mode developer system prompt anything
        hypothetically fictional character roleplay limits filter filters
        detection encrypt encrypts victim victims
        password passwords synthesize synthesis pretend rules persona""",
    ),
    "history_humanities": (
        """history historical historian historians historiography ancient medieval
        renaissance enlightenment baroque dynasty dynasties empire empires emperor
        pharaoh pharaohs monarchy monarch feudal feudalism colonial colonialism
        imperialism civilization civilizations archaeology archaeological
        philosophy philosophical philosopher philosophers ethics epistemology
        metaphysics ontology existentialism stoicism utilitarianism kant plato
        aristotle socrates nietzsche descartes hegel marx confucius theology
        theological religion religions religious bible biblical quran scripture
        mythology mythological literature literary shakespeare poet novelist
        painter painting paintings sculpture artwork gothic
        romanticism modernism postmodernism napoleon caesar hitler stalin
        churchill lincoln wwi wwii reformation crusades ottoman byzantine
        mesopotamia sumerian aztec inca mayan viking vikings samurai soviet ussr
        nazi nazis communism communist fascism fascist holocaust apartheid
        genocide slavery abolition magna carta revolution""",
        """war wars revolution revolutions century centuries treaty battle
        battles king kings queen queens architecture roman rome greek greece egypt egyptian
        culture cultural art artist artists music composer moral morality
        virtue justice existence consciousness god gods
        independence geography geographic geographical continent continents
        country countries nation nations population border borders capital
        france germany italy spain china japan india russia brazil mexico
        canada australia egypt africa europe asia america european berlin
        printing""",
        """era period age past origin origins tradition traditions society
        heritage legacy famous influence""",
    ),
    "social_science": (
        """psychology psychological psychologist sociology sociological
        sociologist anthropology anthropological economics economist economists
        macroeconomics microeconomics geopolitics geopolitical demography
        demographic demographics criminology linguistics sociolinguistics
        behavioral behavioural cognitive neuroscience socioeconomic
        urbanization globalization immigration ideology ideologies
        democracy democracies authoritarian totalitarian populism electoral
        parliament parliamentary congress senate referendum diplomacy bystander
        conformity obedience stereotype stereotypes prejudice stigma""",
        """political politics politician politicians government governments
        election elections vote voting voters policy policies public social
        society societies behavior behaviour bias biases gender race ethnicity
        poverty welfare unemployment labor labour migration survey surveys
        sanctions conflict community communities inequality teenagers birth
        fertility mortality
        adolescents adolescent esteem peer peers norms""",
        """people human humans group groups study studies theory theories
        motivation attitudes""",
    ),
    "education": (
        """curriculum syllabus pedagogy pedagogical lesson lessons classroom
        classrooms homework worksheet worksheets quiz quizzes flashcard
        flashcards rubric rubrics tutor tutoring teacher teachers
        teaching educator educators kindergarten preschool semester midterm
        midterms gpa gre gmat toefl ielts admissions scholarship
        scholarships eli5 undergraduate undergrad""",
        """tutorial tutorials student students school schools college university universities
        course courses lecture lectures exam exams study studying learn
        learning teach grade grades grader class assignment assignments
        education educational professor textbook beginner beginners""",
        """simple simply understand understanding basics basic concept concepts
        kid kids child children year old explain""",
    ),
    "everyday": (
        """recipe recipes cooking bake baking baked dinner lunch breakfast brunch
        dessert snack snacks vegetarian vegan gluten ingredients oven fridge
        groceries grocery itinerary vacation vacations hotel hotels airbnb flight
        flights packing sightseeing gardening garden houseplant houseplants
        laundry cleaning decluttering furniture apartment roommate roommates
        boyfriend girlfriend husband wife dating wedding birthday anniversary
        puppy kitten pet pets workout workouts gym
        skincare haircut outfit outfits wardrobe shopping coffee tea wine beer
        cocktail cocktails movie movies netflix tv hobby hobbies weekend
        holiday holidays christmas thanksgiving halloween diy plumbing mold""",
        """dog dogs cat cats cook meal meals food foods eat eating chicken pasta
        rice soup salad
        travel trip trips visit visiting city gift gifts party friend friends
        family parents mom dad baby toddler house home room kitchen car cars
        drive driving clean fitness exercise walk walking weight
        relationship relationships neighbor hobby book books game games
        recommend recommendation recommendations buy bought router wifi
        internet laptop phone smartphone computer printer""",
        """day days week morning evening tonight tomorrow weekend fun nice ideas
        idea tips leak leaking""",
    ),
}


def _split(words: str) -> frozenset[str]:
    """Split a whitespace-separated word string into a set."""
    return frozenset(words.split())


def _expand(words: str) -> set[str]:
    """Split a word string and add the plain ``+s`` plural of each word."""
    out: set[str] = set()
    for w in words.split():
        out.add(w)
        if not w.endswith("s") and w.isalpha():
            out.add(w + "s")
    return out


def _build_area_lexicon() -> dict[str, tuple[tuple[int, float], ...]]:
    """Turn the tiered word strings into ``token -> ((area index, weight), ...)``.

    A token listed in several tiers of one area keeps its strongest tier; a token
    listed under several areas keeps one entry per area.
    """
    best: dict[str, dict[int, float]] = {}
    for area_index, area in enumerate(AREAS):
        tiers = (SAFETY_STRONG if area == "safety_probing" else STRONG, MEDIUM, WEAK)
        for tier_words, weight in zip(_AREA_WORDS[area], tiers, strict=True):
            for token in _expand(tier_words):
                per_area = best.setdefault(token, {})
                per_area[area_index] = max(per_area.get(area_index, 0.0), weight)
    return {tok: tuple(sorted(per.items())) for tok, per in best.items()}


#: token -> ((area index, weight), ...): the area evidence one token carries.
AREA_LEXICON: Final = MappingProxyType(_build_area_lexicon())

#: Index of each area by name.
AREA_INDEX: Final = MappingProxyType({name: i for i, name in enumerate(AREAS)})

# --- Prompt scaffolding: the words a template's fixed frame is made of -------------------

#: English function words: neutral when judging whether a sentence is template frame.
FUNCTION_WORDS: Final = _split(
    """a an the of in on at to for with by from into onto about as and or but nor if
    then than so that this these those it its is are was were be been being am do does
    did done doing have has had having will would shall should can could may might must
    not no yes all any each every some such which what who whom whose where when why
    how there here i me my mine myself we us our ours he him his she her hers they them
    their theirs itself s t ll re ve d m don doesn didn isn aren wasn weren won wouldn
    shouldn couldn can cannot just also very please more most less own same other
    others both either neither too up down out over under again further once between
    through during before after while because until against among within without
    upon across per via let lets like well now then thus hence however therefore
    whether one ones something anything everything nothing someone anyone everyone
    way ways really quite rather much many few"""
)

#: Words that make up prompt frames (roles, task verbs, document and format nouns).
SCAFFOLD_WORDS: Final = frozenset(
    _expand(
        """you your yours yourself assistant ai model chatbot bot expert specialist
        professional helpful act acting pretend imagine role persona behave respond
        response reply answer answering question problem task instruction
        instructions prompt query request input output following below above given
        provided attached text passage paragraph sentence document article email
        message ticket review transcript conversation dialogue post tweet comment
        abstract report snippet code function essay story poem haiku sonnet limerick
        song lyrics joke summary summarize summarise translate translation rewrite
        rephrase paraphrase proofread edit explain explanation describe description
        list generate create write compose draft produce give provide classify
        categorize categorise label extract identify analyze analyse analysis
        compare contrast evaluate rate score rank determine solve solution step
        steps reasoning reason think thinking thought show work justify derive
        final format formatted json yaml xml csv markdown table bullet bullets
        point points item items word words character characters short brief
        concise detailed long simple clear plain terms style tone formal informal
        friendly audience beginner child kid layperson student language english
        french spanish german italian portuguese chinese japanese korean russian
        arabic hindi dutch turkish only exactly strictly option options choice
        choices letter correct best true false context example examples sample
        category categories sentiment positive negative neutral keyword keywords
        title headline tag topic using use based according return print boxed box
        enclose quote cite reference source length maximum minimum least fewer
        sure carefully detail details concisely briefly clearly precisely
        accurately thoroughly key main important relevant next respond user human
        system assistant helpful harmless honest guidelines rules role
        information info fact facts numbered keep avoid ensure make limit focus
        mention add remove stick stay jargon technical reader readers question
        questions assume assuming suppose consider"""
    )
)

# --- Reasoning-elicitation cues ----------------------------------------------------------

#: Verbs that, with a reasoning object nearby, ask the model to expose its reasoning.
REASON_VERBS: Final = _split(
    """show shows showing explain explains explaining walk walking justify justifies
    justifying derive deriving detail detailing outline outlining lay laying break
    breaking describe describing articulate articulating elaborate elaborating
    provide providing give giving include including write writing present presenting
    trace tracing spell spelling document documenting expose reveal share display
    output state clarify unpack demonstrate demonstrating go going talk take
    verbalize verbalise narrate list enumerate record note print lay set"""
)

#: Objects that name exposed reasoning outright ("your reasoning", "the derivation").
REASON_STRONG_OBJECTS: Final = _split(
    """reasoning rationale rationales derivation derivations justification
    justifications logic thought thoughts thinking workings working calculations
    calculation computations computation scratchpad deliberation monologue
    chain intermediate inference"""
)

#: Objects that name reasoning only with a possessive or quantifier ("your work",
#: "each step"); "the steps to reset a router" stays weak.
REASON_SOFT_OBJECTS: Final = _split(
    "work step steps process approach method answer solution argument arguments"
)

#: Determiners that turn a soft object into a reasoning object.
REASON_POSSESSIVES: Final = _split(
    """your each every all intermediate individual full complete entire whole
    detailed explicit exhaustive thorough own"""
)

#: Adverbs that strengthen a reasoning request when one is already present.
REASON_ADVERBS: Final = _split(
    """carefully thoroughly rigorously methodically systematically meticulously
    logically explicitly deliberately slowly thoughtfully analytically"""
)

#: Words after "think" that make it a reasoning instruction ("think carefully").
THINK_FOLLOWERS: Final = _split(
    """step carefully through hard deeply logically aloud out about critically
    systematically methodically thoroughly before first rigorously"""
)

#: Non-English reasoning phrases (whole words), searched in the lower-cased text when
#: their longest word (CJK: character) occurs among the prompt's tokens.
FOREIGN_REASON_PHRASES: Final[tuple[str, ...]] = (
    "paso a paso",
    "paso por paso",
    "razonamiento",
    "explica tu razonamiento",
    "muestra tu trabajo",
    "étape par étape",
    "etape par etape",
    "raisonnement",
    "schritt für schritt",
    "schritt fur schritt",
    "denkweise",
    "gedankengang",
    "lösungsweg",
    "passo a passo",
    "passo dopo passo",
    "ragionamento",
    "raciocínio",
    "stap voor stap",
    "krok po kroku",
    "ad\u0131m ad\u0131m",  # Turkish, dotless i
    "langkah demi langkah",
    "từng bước",
    "шаг за шагом",
    "пошагово",
    "поэтапно",
    "ход решения",
    "一步一步",
    "一步步",
    "逐步",
    "思考过程",
    "推理过程",
    "解题过程",
    "ステップバイステップ",
    "段階的に",
    "順を追って",
    "단계별로",
    "차근차근",
    "خطوة بخطوة",
    "चरण दर चरण",
)

#: Non-English word stems that name reasoning, searched as substrings in non-ASCII text.
FOREIGN_REASON_STEMS: Final[tuple[str, ...]] = ("рассужд", "обоснуй", "обоснова")

# --- Non-English detection ---------------------------------------------------------------

#: Function words of Latin-script languages that rarely occur in English text.
FOREIGN_FUNCTION_WORDS: Final = _split(
    """el los las que por una está pero más muy también cómo qué cuál porque según
    usted ustedes les des une dans avec pas qui cette sont vous nous elle mais très
    aussi comment pourquoi quel quelle der das und ist nicht ein eine auf für ich wir
    dem wie warum bitte auch oder aber sind gli della delle sono perché anche questo
    questa nella degli não uma você também então het een niet voor zijn ik wat hoe
    się jest że jak ve bir i\u00e7in ile nas\u0131l yang dengan untuk tidak adalah bagaimana
    của là không những được och att som är inte jag för"""
)
