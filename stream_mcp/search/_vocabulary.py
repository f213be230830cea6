"""Chat-domain vocabulary: what people say versus the words Stream's catalog uses.

Kept as plain data so a reviewer can read the domain knowledge in one place; ``search.py``
compiles it. Entries are general chat concepts, not copies of any test query.

``EQUIVALENTS`` are groups of phrases that mean the same thing: a query containing one of them
is also searched for the others, at a reduced weight. ``IMPLIES`` is one-way: a casual or
colloquial phrase (left) points at how the catalog describes the concept (right); the reverse
would add noise (a query about removing members is not about "kicking"). In triggers, the word
"someone" stands for any name the catalog does not know ("remove bob from …").

The moderation verbs are deliberately kept apart, because they are different operations:
ban (a moderator stops a user posting, app-wide or in one channel, optionally for a while),
mute (I stop being notified about a user or channel), block (I stop a user contacting me),
flag (I report a message or user to the moderators) and blocklist (a list of banned words).
"""

from __future__ import annotations

EQUIVALENTS: tuple[tuple[str, ...], ...] = (
    # conversations
    ("dm", "direct message", "distinct channel", "one on one", "1 1", "private chat", "directly"),
    ("channel", "conversation", "chat room", "room"),
    ("all", "every", "each"),
    ("member", "participant"),
    ("segment member", "segment target", "audience member"),
    ("message", "msg"),
    ("reaction", "react", "emoji reaction"),
    ("thread", "reply thread", "sub conversation", "side conversation", "subthread"),
    ("reply", "thread reply", "answer"),
    ("typing indicator", "typing event", "is typing"),
    ("slow mode", "slowmode", "cooldown"),
    ("unread", "unseen", "badge"),
    ("hide", "hidden"),
    ("truncate", "clear history", "wipe history", "empty channel"),
    ("freeze", "frozen", "lock channel"),
    ("unfreeze", "freeze"),
    ("invite", "invitation"),
    ("moderator", "mod"),
    ("review queue", "moderation queue", "mod queue"),
    ("archive", "archived"),
    ("pin", "pinned"),
    ("unpin", "pin"),
    ("unarchive", "archive"),
    ("draft", "unsent", "half written", "half typed", "unfinished message"),
    ("reminder", "remind me", "save for later", "saved for later"),
    ("translate", "translation", "language"),
    ("link preview", "open graph", "og", "unfurl", "url preview"),
    ("detail", "info", "information"),
    ("edit history", "message history", "previous version"),
    ("undelete", "restore deleted", "recover deleted"),
    ("recent", "latest", "newest", "last few"),
    # moderation
    ("ban", "banned", "timeout", "suspend from chat"),
    ("unban", "lift ban", "remove ban"),
    ("shadow ban", "shadow banned", "shadowban"),
    ("flag", "report", "flagged", "reported"),
    ("mute", "silence", "muted", "snooze", "snoozed"),
    ("block", "blocked user"),
    (
        "blocklist",
        "block list",
        "banned words",
        "word list",
        "profanity filter",
        "blocked words",
        "forbidden words",
        "banned terms",
        "banned phrases",
    ),
    # users and people
    ("user", "person", "people", "account"),
    ("guest", "anonymous", "visitor"),
    ("deactivate", "disable account", "suspend account"),
    ("reactivate", "re enable", "reenable"),
    ("online", "presence", "last active"),
    ("user group", "user team", "mention group"),
    ("live location", "location sharing", "share location", "gps"),
    ("gdpr", "personal data", "right to be forgotten"),
    # files
    ("image", "photo", "picture", "jpg", "png", "jpeg"),
    ("file", "document", "pdf", "attachment", "spreadsheet"),
    ("upload", "attach"),
    # polls
    ("poll", "survey"),
    ("vote", "ballot"),
    # push and devices
    ("push", "push notification", "notification"),
    ("do not disturb", "dnd", "quiet hours"),
    ("device", "phone", "iphone", "android phone", "device token"),
    ("apns", "apple push", "ios push"),
    ("firebase", "fcm", "android push"),
    # app configuration
    ("app settings", "app configuration", "app config"),
    ("rate limit", "quota", "throttle"),
    ("token", "jwt"),
    ("revoke", "invalidate"),
    ("retention", "retention policy", "auto delete", "expire old"),
    ("role", "user role"),
    ("permission", "grant", "access right"),
    ("slash command", "command"),
    ("giphy", "gif"),
    ("predefined filter", "saved filter", "filter template"),
    ("tenant", "team"),
    ("usage", "statistics", "stats"),
    # campaigns, imports, tasks
    ("campaign", "broadcast", "bulk message", "blast", "mass message"),
    ("segment", "audience", "cohort"),
    ("import", "migrate", "migration"),
    ("external storage", "s3 bucket", "bucket"),
    ("task", "job", "background task", "async task"),
    ("export", "download", "data dump"),
    # realtime: Stream calls subscribing to a channel's events "watching" it
    ("watch", "subscribe", "listen for events", "realtime updates", "live updates", "live events"),
)

# Shorthand and plain synonyms people type for the catalog's words, read as those words at full
# weight: "msg-12" names a message as "#general" names a channel, "creds" are credentials, a
# "stickied" post is a pinned message.
READ_AS: tuple[tuple[str, str], ...] = (
    ("msg", "message"),
    ("msgs", "messages"),
    ("convo", "conversation"),
    ("convos", "conversations"),
    ("acct", "account"),
    ("accts", "accounts"),
    ("cred", "credential"),
    ("creds", "credentials"),
    ("perm", "permission"),
    ("perms", "permissions"),
    ("cmd", "command"),
    ("cmds", "commands"),
    ("notif", "notification"),
    ("notifs", "notifications"),
    ("posts", "messages"),  # the noun; "post" alone is as often the verb
    ("stickied", "pinned"),
    ("rm", "remove"),  # the shell's word for it
    ("sticky", "pinned"),
    # jargon for the catalog's verbs
    ("tweak", "update"),
    ("tweaks", "updates"),
    ("retitle", "rename"),
    ("enumerate", "list"),
    ("ingest", "import"),
    ("ingests", "imports"),
    # an action named as a noun: "intern role removal", "segment deletion", "token revocation"
    ("removal", "remove"),
    ("deletion", "delete"),
    ("creation", "create"),
    ("cancellation", "cancel"),
    ("deactivation", "deactivate"),
    ("reactivation", "reactivate"),
    ("revocation", "revoke"),
    ("choice", "option"),  # of a poll: "the 'Tacos' choice"
    ("choices", "options"),
    ("wordlist", "word list"),
    ("wordlists", "word lists"),
)

# Multi-word idioms whose words mislead on their own; the request is read with the plain verb
# instead ("kick off the campaign" starts it and kicks nobody out).
IDIOMS: tuple[tuple[str, str], ...] = (
    ("kick off", "start"),
    ("get rid of", "delete"),
    ("fire off", "send"),
    ("sign up", "register"),
    ("take back", "remove"),
    ("take down", "remove"),
    ("kill switch", "stop"),
    ("report that", "record that"),  # telling, not flagging
    ("tear down", "delete"),
    ("wind down", "cancel"),
    ("un quarantine", "reactivate"),
    ("unquarantine", "reactivate"),
    ("pull the plug", "stop"),
    ("spin up", "create"),
    ("stand up", "create"),
    # wanting, politely: "like" here is no reaction
    ("i'd like to", "i want to"),
    ("we'd like to", "we want to"),
    ("would like to", "want to"),
)

# Requests that describe an outcome rather than an action: "make sure bob can't post for a
# day" asks for a ban, "nobody should be able to post in #news" for a frozen channel. Each
# pattern (a case-insensitive regex) is replaced by the plain request that brings the outcome
# about ("to …", so that it reads as a clause of its own); ``\1`` keeps the person named.
# "make sure", "ensure" and "so that" only introduce the outcome, so they are dropped first
# (else "make" would read as "create").
_CANT = (
    r"(?:can(?:no|['’])?t|could(?:n['’]t| not)|won['’]t|will not|should(?:n['’]t| not)"
    r"|must(?:n['’]t| not)|(?:is|are)(?:n['’]t| not) able to|unable to|(?:not|never) be able to"
    r"|may not|never)"
)
_MAY = r"(?:can|could|should|may|must|will|(?:is|are) allowed to|(?:should|will|can) be able to)"
_THEY = r"(?<![\w@])(?!(?:i|we|you)\b)(@?\w[\w.-]*)"  # a person other than the one asking
_POST = r"(?:post|write|send|messag|chat|talk|speak|comment|reply|say|type)\w*"
_NOT_WANT = r"(?:don['’]t|do not|doesn['’]t|does not|never|no longer)\s+(?:want|need|wish|care)"
_AGAIN = r"(?:\s+(?:again|anymore|any more|ever again))?\b"
_ANYMORE = r"(?:anymore|any more)\b"
_THE = r"(?:the\s+|this\s+|that\s+|our\s+|my\s+)?"  # the thing named next
_THING = r"([\w:-]+(?:\s+[\w:-]+){0,2}?)"  # a thing's name: one to three words
_ABLE = r"(?:be\s+able\s+to\s+)?"
_CONTACT = r"(?:contact|messag|dm|text|ping|reach|bother|call|email)\w*"
# Features a channel type switches on or off for all its channels (its config: reactions,
# typing_events, read_events, replies, uploads, url_enrichment, …).
_FEATURE = (
    r"((?:emoji\s+)?reactions|typing(?:\s+(?:indicators?|events?|notifications?))?"
    r"|read\s+(?:receipts?|events?|indicators?)|(?:message\s+)?threads|(?:threaded\s+)?replies"
    r"|(?:file\s+|image\s+)?uploads|url\s+enrichment|link\s+previews|quoted?\s+replies|quotes"
    r"|custom\s+events|message\s+search|(?:message\s+)?reminders)"
)
# ... described in the state it should be in: "reactions are disabled", "typing indicators
# should be gone", "uploads should stay off".
_SWITCHED = (
    r"\s+(?:(?:should|must|will|need\s+to|needs\s+to|has\s+to|have\s+to)\s+)?(?:now\s+)?"
    r"(?:are|is|be|get|gets|become|stay|stays|remain|remains)\s+(?:now\s+|all\s+|completely\s+"
    r"|entirely\s+|fully\s+)?"
)
_OFF = (
    r"(?:disabled|turned\s+off|switched\s+off|gone|unavailable|not\s+allowed"
    r"|off(?=\s*(?:[.,;:!?)—–-]|$)|\s+(?:for|in|on|across|everywhere|again)\b))"
)
# "read receipts should no longer show": switched off too
_NO_LONGER = (
    r"\s+(?:(?:should|must|will)\s+(?:not|no\s+longer|never)|shouldn['’]t|mustn['’]t|won['’]t"
    r"|no\s+longer|never)\s+"
    r"(?:show|appear|work|be\s+sent|fire)\b"
)
_ON = r"(?:enabled|turned\s+on|switched\s+on|available|allowed)"
# Someone's pick in a poll, reported as done ("u-6 picks 'Pizza'", "leo went with option 2"):
# a vote to cast for them, not a poll to create. A question ("who picked …?") reads the votes.
_PICKED = (
    r"(?<![\w@'’-])(?!(?:who|which|what|whoever|that|to|let|and|or)\b)(@?[\w.-]+)\s+"
    r"(?:picks|picked|chooses|chose|selects|selected|goes\s+with|went\s+with|opts\s+for|"
    r"opted\s+for|votes\s+for|voted\s+for)\b"
)
_POLL_WORD = r"\b(?:polls?|options?|votes?|survey|ballot|choices?)\b"
# "@oncall mentions": a handle whose mentions reach people is a user group's, and whom they
# reach are its members ("@oncall mentions shouldn't reach him anymore": remove him).
_HANDLE_MENTIONS = r"(@[\w.-]+)\s+(?:mentions?|pings?)"
_NO_MORE = (
    r"(?:should(?:n['’]t|\s+not|\s+no\s+longer|\s+never)|must(?:n['’]t|\s+not)|won['’]t|"
    r"will\s+not|no\s+longer|never|(?:does|do)(?:n['’]t|\s+not))"
)
_FROM_NOW = r"(?:(?:should|must|will|needs?\s+to|has\s+to|have\s+to)\s+)?(?:also\s+)?"
_REACH = r"(?:reach|ping|notify|notifie|alert|go\s+to|include)\w*"
_RECEIVE = r"(?:get|receive|hear|see)\w*\s+(?:any\s+)?(?:more\s+)?"
# Gone, or made to go: "disappear", "get deleted", "be cleaned up".
_GONE = (
    r"(?:disappear|vanish|expire|go away|be gone|(?:get|are|be)\s+(?:deleted|removed|purged|"
    r"erased|wiped|cleared|cleaned\s+(?:up|out)))"
)
# Voting on a poll, closed or opened again: the poll's own setting.
_VOTING = r"(?:voting|votes|ballots?|the\s+vote)\b"
_CLOSE = r"(?:close|end|stop|finish|lock|shut|halt|freeze)"
_REOPEN = r"(?:reopen|unlock|resume|restart)"
_ON_POLL = r"(?:(?:on|in|for)\s+[^.;?!]{1,40}?\s+)?"
_SHOULD = r"(?:should|must|needs?\s+to|has\s+to|will|can)\s+(?:now\s+)?"
OUTCOMES: tuple[tuple[str, str], ...] = (
    # "have the bot post …", "have bob send …": a request that someone act, not a question
    # ("have we banned bob?", "have the mods seen it?" keep their participle and stay one)
    (
        r"^\s*(?:please\s+)?have\s+(?!(?:we|you|they|i|he|she|it|there|any|all|some|these|"
        r"those|many|most|none|anyone|anybody|someone|somebody|everyone)\b)(?:the\s+|a\s+|our\s+|"
        r"my\s+|your\s+)?[@#\w:.-]+(?:\s+(?:bot|account|user|admin|moderator))?\s+(?!(?:been|got|"
        r"gotten|done|made|had|seen|read|sent|put|set|said|told|left|kept|run|taken|given|found|"
        r"heard|paid|built|shut|let|lost|won|already|ever|never|not|any|all)\b)(?![a-z]+(?:ed|en)\b)"
        r"(?=[a-z]+\b)",
        " ",
    ),
    # text that should read otherwise: changed ("the hint should say 'open a ticket'")
    (
        r"\b(?:should|must|needs? to|has to|ought to)\s+(?:now\s+)?(?:read|say)\s*:?\s*"
        r"(?=['\"‘“])",
        " should be changed to ",
    ),
    # a name something should go by: renamed ("q-4 should show up as 'Tier 2'", "the role
    # should be called 'editor'")
    (
        r"\b(?:should|must|needs?\s+to|has\s+to|ought\s+to|will)\s+(?:now\s+|instead\s+)?"
        r"(?:show\s+up|appear|display|be\s+(?:shown|displayed|listed|known))\s+as\b"
        r"|\b(?:should|must|needs?\s+to|has\s+to|ought\s+to|will)\s+(?:now\s+|instead\s+)?"
        r"be\s+(?:re)?(?:called|named|titled|labell?ed)\b",
        " to rename it to ",
    ),
    # "make sure bob is a moderator": make him one
    (
        r"\b(?:make sure|ensure)\s+(?:that\s+)?(@?\w[\w.-]*)\s+(?:is|becomes?|stays?)\s+"
        r"(?:an?|the)\s+(?=\w)",
        r" to make \1 ",
    ),
    (r"\b(?:make sure|ensure|so that)\b", " "),
    # a "like" someone owns or gives is a reaction ("u-2's like on m-8", "give it a like"); the
    # word is otherwise filler ("something like that")
    (
        r"(?:['’]s|\b(?:a|the|my|his|her|their|your|our|its|one|every|each))\s+(likes?)\b"
        r"(?!\s+(?:to|that|this|it)\b)",
        r" \1 reaction ",
    ),
    # a message that should show a reaction: react ("m-4 should get a 👍 from bob")
    (
        r"\b(?:should|must|needs?\s+to|has\s+to|will)\s+(?:now\s+|also\s+)?(?:show|have|get|carry|"
        r"display|bear|wear)\s+(?:an?\s+|one\s+|the\s+|their\s+|his\s+|her\s+)?(?=[\U0001f000-"
        r"\U0001faff\u2600-\u27bf]|\+1|(?:likes?|hearts?|thumbs[ -]?up|reactions?)\b)",
        " to react with ",
    ),
    # "drop a note in #general", "drop bob a line": post one (dropping *the* message deletes it)
    (
        r"\bdrop\s+(?:(@?[\w.-]+)\s+)?an?\s+((?:[\w-]+\s+|['\"‘“][^'\"’”]*['\"’”]\s+){0,2}?"
        r"(?:message|note|notice|line|"
        r"comment|announcement|msg|dm|reply))\b",
        r" post \1 a \2 ",
    ),
    # whom a handle's mentions reach: the members of its user group
    (
        rf"{_HANDLE_MENTIONS}\s+{_NO_MORE}\s+{_REACH}\s+(@?[\w.-]+)",
        r" to remove member \2 from the \1 mention group ",
    ),
    (
        rf"{_HANDLE_MENTIONS}\s+{_FROM_NOW}{_REACH}\s+(@?[\w.-]+)",
        r" to add member \2 to the \1 mention group ",
    ),
    (
        rf"(?<![\w@])(@?[\w.-]+)\s+{_NO_MORE}\s+{_RECEIVE}{_HANDLE_MENTIONS}",
        r" to remove member \1 from the \2 mention group ",
    ),
    (
        rf"(?<![\w@])(@?[\w.-]+)\s+{_FROM_NOW}{_RECEIVE}{_HANDLE_MENTIONS}",
        r" to add member \1 to the \2 mention group ",
    ),
    # a vote recorded for someone: cast ("register leo's vote", "record a vote for u-2")
    (
        r"\b(?:register|record|submit|enter|lodge|put\s+in)\s+(?:((?:a|the|my|his|her|their|"
        r"our|@?[\w.-]+['’]s)\s+)?(?:vote|ballot)|((?:my|his|her|their|@?[\w.-]+['’]s)\s+)"
        r"(?:choice|option|pick|answer|selection)(?=[^.;?!]*\bpoll))\b",
        r" to cast \1\2vote ",
    ),
    # someone's pick in a poll, named before or after it
    (
        rf"{_PICKED}(?=[^.;?!]*(?:{_POLL_WORD}|['\"‘“]))",
        r" \1 to cast a vote for ",
    ),
    (rf"({_POLL_WORD}[^.;?!]*?){_PICKED}", r"\1 \2 to cast a vote for "),
    # ... and who picked it, asked: the votes cast
    (
        r"\bwho\s+(?:picks|picked|chose|chooses|selected|selects|goes\s+with|went\s+with|"
        r"opts\s+for|opted\s+for)\b(?=[^.;?!]*(?:" + _POLL_WORD + r"|['\"‘“]))",
        " who voted for ",
    ),
    # voting closed or opened is the poll's setting, not a vote cast ("close voting on p-1")
    (rf"\b{_CLOSE}\s+(?:the\s+|all\s+)?{_VOTING}", " close the poll "),
    (rf"\b{_REOPEN}\s+(?:the\s+|all\s+)?{_VOTING}", " reopen the poll "),
    (
        rf"\b{_VOTING}\s+{_ON_POLL}{_SHOULD}(?:be\s+)?{_CLOSE}\w*",
        " to close the poll ",
    ),
    (
        rf"\b{_VOTING}\s+{_ON_POLL}{_SHOULD}(?:be\s+)?{_REOPEN}\w*",
        " to reopen the poll ",
    ),
    # a channel feature in the state it should be in: the channel type's setting
    (
        rf"\b{_FEATURE}{_SWITCHED}{_OFF}",
        r" to disable \1 in the channel type settings ",
    ),
    (
        rf"\b{_FEATURE}{_SWITCHED}{_ON}\b",
        r" to enable \1 in the channel type settings ",
    ),
    (
        rf"\b{_FEATURE}{_NO_LONGER}",
        r" to disable \1 in the channel type settings ",
    ),
    # ... or as what channels should (not) allow: "messaging channels shouldn't allow file
    # uploads anymore", "livestream channels should support threads"
    (
        r"\bchannels?\s+(?:shouldn['’]t|should\s+not|must\s+not|mustn['’]t|can['’]t|cannot|"
        r"won['’]t|will\s+not|no\s+longer)\s+(?:allow|permit|support|have|offer|show|get)\s+"
        rf"(?:any\s+)?{_FEATURE}",
        r" to disable \1 in the channel type settings ",
    ),
    (
        r"\bchannels?\s+(?:should|must|need\s+to|needs\s+to)\s+(?:also\s+)?"
        rf"(?:allow|permit|support|offer)\s+{_FEATURE}",
        r" to enable \1 in the channel type settings ",
    ),
    # what the channels of a built-in type should do, or how they should be: "livestream
    # channels should cap messages at 500 characters", "team channels must keep history for a
    # year" change the settings of the channel type, not of one channel
    (
        r"\b(livestream|messaging|team|gaming|commerce)\s+(?:channels|rooms)\s+(?:should|must|"
        r"need\s+to|ought\s+to|have\s+to|are\s+to)\s+(?!be\s+(?:deleted|removed|exported|"
        r"truncated|queried|listed|found)\b)",
        r" change the settings of the \1 channel type so its channels ",
    ),
    # records that should be exactly what another source says are replaced whole, not patched
    # field by field: "our user records should exactly match the CRM export"
    (
        r"\b(?:should|must|needs?\s+to|has\s+to|have\s+to)\s+(?:exactly\s+|fully\s+)?(?:match|"
        r"mirror|be\s+identical\s+to|be\s+in\s+sync\s+with|be\s+the\s+same\s+as)\b"
        r"(?!\s+(?:the\s+)?(?:filter|query|pattern|regex)\b)",
        " to be replaced by ",
    ),
    # a channel nobody may write in: frozen
    (r"\b(?:make|set|turn)\s+(\S+)\s+read[- ]only\b", r" to freeze \1 "),
    (r"\bread[- ]only\b", " frozen "),
    # a word nobody may use: a blocklist
    (
        rf"\b(?:nobody|no one|no-one|users?|people|anyone|anybody)\s+(?:{_MAY}|{_CANT})\s+"
        r"(?:use|say|write|post|type|send)\s+(?:the\s+|that\s+|this\s+)?"
        r"(?:words?|terms?|phrases?|slurs?|swear\w*)\b",
        " to add blocklist words ",
    ),
    # nobody may post in a channel: freeze it
    (
        rf"\b(?:nobody|no one|no-one)\s+(?:else\s+)?{_MAY}\s+(?:\w+\s+){{0,3}}?{_POST}"
        r"(?:\s+(?:any\s+)?(?:messages?|anything))?",
        " to freeze the channel ",
    ),
    # someone may not contact me: block them
    (
        rf"\b(?:stop|prevent|keep)\s+(@?\w[\w.-]*)\s+from\s+(?:ever\s+)?{_CONTACT}\s+me{_AGAIN}",
        r" to block \1 ",
    ),
    (rf"{_THEY}\s+{_CANT}\s+{_ABLE}(?:ever\s+)?{_CONTACT}\s+me{_AGAIN}", r" to block \1 "),
    # someone may not contact someone else: that person blocks them
    (
        rf"{_THEY}\s+{_CANT}\s+{_ABLE}(?:ever\s+)?{_CONTACT}\s+"
        r"(?!(?:the|a|an|in|on|anyone|anybody|everyone|people|users|others)\b)(@?\w[\w.-]*)",
        r" to block \1 for \2 ",
    ),
    # someone may contact someone again: unblock
    (
        rf"{_THEY}\s+(?:can|may|is allowed to|should be able to)\s+(?:\w+\s+)?{_CONTACT}\s+"
        r"(@?\w[\w.-]*)\s+again\b",
        r" to unblock \1 for \2 ",
    ),
    # someone may not post: ban them (for a while, if a time is given)
    (rf"{_THEY}\s+{_CANT}\s+{_ABLE}(?:ever\s+)?{_POST}{_AGAIN}", r" to ban \1 "),
    (
        rf"\b(?:stop|prevent|keep)\s+(@?\w[\w.-]*)\s+from\s+(?:ever\s+)?{_POST}{_AGAIN}",
        r" to ban \1 ",
    ),
    # someone may post again: lift the ban
    (rf"\b(?:let|allow)\s+(@?\w[\w.-]*)\s+(?:to\s+)?{_POST}\s+again\b", r" to unban \1 "),
    (
        rf"{_THEY}\s+(?:should|must|can|may|will)\s+(?:now\s+)?(?:be\s+(?:allowed|able|"
        rf"permitted)\s+to\s+)?{_POST}\b(?=[^.;?!]*\bagain\b)",
        r" to unban \1 ",
    ),
    # how a thing is set up, asked: its definition read ("how /giphy is set up", "how the
    # gaming type is configured"), nothing set up
    (
        r"^\W*how\s+((?:\S+\s+){1,5}?)(?:is|are|was|were)\s+(?:currently\s+|actually\s+)?"
        r"(?:set\s+up|configured|defined|built|wired(?:\s+up)?|laid\s+out|structured|declared)\b",
        r" show how \1 is configured ",
    ),
    # people picked out by what they have: a query of users ("everyone with the admin role",
    # "all users whose plan is pro")
    (
        r"^\W*(?:(?:list|show|find|get)\s+(?:me\s+)?)?(?:all\s+(?:the\s+)?)?(?:everyone|everybody|"
        r"users|people|accounts)\s+(?:with|whose|having|who\s+(?:have|has))\b",
        " query users with ",
    ),
    # a deletion undone: undeleted ("undo the delete of m-9", "revert that deletion")
    (
        r"\b(?:undo|reverse|revert|roll\s+back)\s+(?:the\s+|that\s+|this\s+|a\s+|my\s+|its\s+)?"
        r"(?:deletion|delete|deleting|removal)\b",
        " undelete ",
    ),
    # someone let back in where they were kept out: unbanned ("served their time, let them
    # back into #final", "allow u-3 back in")
    (
        r"\b(?:let|allow|welcome)\s+(@?[\w.-]+)\s+back(?:\s+(?:in(?:to)?|on(?:to)?)\b|"
        r"(?=\s*(?:[.,;:!?)—–]|$)))",
        r" to unban \1 from ",
    ),
    # unread that should no longer show: marked read ("u-3 shouldn't see an unread badge")
    (
        rf"\b{_NO_MORE}\s+(?:see|have|show|get|display)\s+(?:an?\s+|any\s+|the\s+)?(?:more\s+)?"
        r"(?:unread|badge)",
        " to mark read ",
    ),
    # what someone wants pushed to them: their push preferences ("u-7 only wants push for
    # mentions")
    (
        r"(?<![\w@])(@?[\w.-]+)\s+(?:only\s+)?(?:wants?|prefers?|needs?)\s+(?:only\s+)?"
        r"(?:push(?:es)?|push\s+notifications?|notifications?|alerts?)\s+(?:only\s+)?"
        r"(?:for|about|on|when)\b",
        r" to set push notification preferences of \1 for ",
    ),
    # undoing a ban, mute or block is its own operation
    (
        r"\b(?:undo|reverse|revert|lift|remove|cancel|end|take\s+back)\s+(?:the\s+|a\s+|that\s+|"
        r"this\s+|my\s+|his\s+|her\s+|their\s+|@?[\w.-]+['’]s\s+)?(?:channel\s+|shadow\s*|ip\s+)?"
        r"(ban|mute|block)\b",
        r" to un\1 ",
    ),
    (
        r"\b(?:undo|reverse|revert|lift|cancel|end)\s+(?:the\s+|a\s+|that\s+|this\s+|my\s+|"
        r"his\s+|her\s+|their\s+)?(?:timeout|suspension)\b",
        " to unban ",
    ),
    # posts hidden from everyone but their author: a shadow ban
    (r"\bhidden from (?:everyone|everybody|others|other users|the others)\b", " to shadow ban "),
    (
        r"\b(?:only\s+)?visible\s+(?:only\s+)?to\s+(?:him|her|them|it)sel(?:f|ves)\b"
        r"|\b(?:only|just)\s+(?:the\s+)?(?:author|poster|sender)\s+(?:can\s+)?sees?\b",
        " to shadow ban ",
    ),
    # people who may chat without an account: guests
    (
        r"\bwithout\s+(?:(?:signing|having\s+to\s+sign)\s+(?:up|in)|registering|registration|"
        r"(?:creating\s+|having\s+)?an\s+account|logging\s+in)\b",
        " as guests ",
    ),
    # someone who may not log in, for now: deactivated (not deleted, not banned from posting)
    (
        rf"\b{_CANT}\s+{_ABLE}(?:log|sign)\s*(?:in|on)\b|\blocked\s+out\b(?!\s+of)",
        " to deactivate ",
    ),
    # people who should (no longer) be part of a group, segment or channel: its members
    (
        r"\b(?:should|must|needs?\s+to|has\s+to|have\s+to)\s+(?:now\s+|also\s+)?(?:be(?:come)?)\s+"
        r"(?:a\s+)?(?:(?:part|members?)\s+of|included\s+in|added\s+to)\b",
        " to add members to ",
    ),
    (
        r"\b(?:should(?:n['’]t| not)|must(?:n['’]t| not)|no\s+longer)\s+be\s+(?:a\s+)?"
        r"(?:(?:part|members?)\s+of|in(?:cluded\s+in)?)\b",
        " to remove members from ",
    ),
    # a thing that should not exist, or not be there to reach: deleted
    (
        r"\b(?:should(?:n['’]t| not)|must(?:n['’]t| not)|no\s+longer\s+(?:needs?\s+to|should))\s+"
        r"(?:even\s+)?exist\b"
        r"|\b(?:should(?:n['’]t|\s+not|\s+no\s+longer)|must(?:n['’]t|\s+not|\s+no\s+longer))\s+"
        r"be\s+(?:there|around|reachable|accessible|downloadable|available|usable|selectable|"
        r"pickable|choosable|an\s+option|wired|connected|hooked\s+up|linked|plugged\s+in)\b",
        " to delete ",
    ),
    # ... made unreachable, or wanted gone: "make it unavailable", "I want that room gone"
    (
        r"\bmake\s+(it|them|(?:the\s+|that\s+|this\s+)?[\w:.-]+)\s+(?:unavailable|"
        r"inaccessible|unreachable|unusable|undownloadable)\b",
        r" to delete \1 ",
    ),
    (
        r"\b(?:want|need|like)\s+((?:it|them|(?:the|that|this|those|these|our|my)\s+[#@\w:.-]+"
        r"(?:\s+[\w-]+)?)(?:\s+and\s+(?:its|their|the|all)\s+[\w-]+)?)\s+(?:gone|deleted|"
        r"removed|erased|wiped)\b(?!\s+(?:from|out\s+of)\b)",
        r" to delete \1 ",
    ),
    # unread brought to zero: marked read
    (
        r"\b(?:show|have|at|to|back\s+to)\s+(?:zero|0)\s+unread\b"
        r"|\bunread\b(?=[^.;?!]{0,60}?\b(?:to|at)\s+(?:zero|0)\b)",
        " mark read ",
    ),
    # someone kept out of a channel for a while: banned from it
    (r"\b(?:keep|lock)\s+(@?\w[\w.-]*)\s+out\s+of\b", r" to ban \1 from "),
    # I no longer want to see someone's messages: block them; a conversation: hide it
    (
        rf"\b{_NOT_WANT}\s+to\s+(?:see|read|get)\s+(?:any\s+)?(?:messages?|posts?|dms?|anything)"
        rf"\s+from\s+(@?\w[\w.-]*){_AGAIN}",
        r" to block \1 ",
    ),
    (rf"\b{_NOT_WANT}\s+to\s+see\b", " to hide "),
    (
        r"\b(?:doesn['’]t|does not|don['’]t|do not|won['’]t|never|no longer)\s+(?:show|appear)"
        r"(?:\s+up)?\b",
        " to hide ",
    ),
    (
        r"\b(?:come|comes|coming)\s+back\b|\b(?:reappear|show up again|appear again)\b",
        " to unhide ",
    ),
    (
        rf"\b{_NOT_WANT}\s+(?:to\s+(?:get|receive|hear|see)\s+)?(?:any\s+)?(?:notifications?|"
        r"pings?|alerts?|push(?:es)?|updates|anything)?\s*(?:from|about)\b",
        " to mute ",
    ),
    # something no longer needed: delete it
    (
        rf"\b{_NOT_WANT}\s+{_THE}([\w:-]+(?:\s+[\w:-]+)?)"
        rf"(?:\s+(?:lying\s+)?around)?\s+{_ANYMORE}",
        r" to delete \1 ",
    ),
    # something nobody uses any more: delete it ("we're not using the giphy command
    # anymore", "nobody uses the old blocklist any more", "the beta role isn't needed anymore")
    (
        rf"\b(?:not|no\s+longer|never|nobody)\s+us(?:e|es|ing)\s+{_THE}{_THING}\s+{_ANYMORE}",
        r" to delete \1 ",
    ),
    (
        rf"\b{_THE}{_THING}\s+(?:isn['’]t|is\s+not|aren['’]t|are\s+not)\s+"
        rf"(?:needed|used|in\s+use)\s+{_ANYMORE}",
        r" to delete \1 ",
    ),
    # "get the broadcast going": start it
    (
        rf"\bget\s+{_THE}((?:[\w-]+\s+){{0,2}}?[\w-]+)\s+(?:going|started|rolling)\b",
        r" to start \1 ",
    ),
    # a device that should no longer receive pushes: remove it
    (
        rf"\b(?:phone|device|iphone|android|tablet)\s+{_CANT}\s+(?:get|receive)\s+"
        r"(?:any\s+)?(?:more\s+)?(?:push|notification)",
        " to remove the device from push notifications ",
    ),
    # someone who should get no notifications from a channel: mute it for them
    (
        rf"{_THEY}\s+{_CANT}\s+(?:get|receive|be\s+notified|hear)\w*\s+(?:any\s+)?(?:more\s+)?"
        r"(?:notifications?|pings?|alerts?|push(?:es)?)?\s*(?:from|about)\b",
        r" to mute for \1 ",
    ),
    # a device that should receive pushes: register it
    (
        r"\b(?:phone|device|iphone|android|tablet)\s+(?:gets?|receives?)\s+(?:push|notification)",
        " to register a device for push notifications ",
    ),
    # gone from someone's channel list: hidden; from their own view only: deleted for them
    (
        r"\b(?:disappear|vanish|go away|be gone|be hidden)\s+from\s+(?:\S+\s+){0,3}?"
        r"(?:channel\s+|chat\s+)?(?:list|inbox|sidebar)\b",
        " to hide it from the channel list ",
    ),
    (
        r"\b(?:(?:should|must|will|needs?\s+to|has\s+to)\s+)?(?:disappear|vanish|go away|be gone)"
        r"\s+(?:only\s+|just\s+)?(?:from|for)\s+(?:\S+\s+){0,2}?(?:own\s+)?view\b",
        " to delete it (delete_for_me) just for me ",
    ),
    # ... or a conversation gone for some people only: hidden for them (a message gone just
    # for me is deleted for me, above)
    (
        r"^(?![^.;?!]*\b(?:messages?|msgs?|posts?|m-\d))(?=[^.;?!]*?(?:#\w|\b[a-z]+:[\w-]|\b(?:"
        r"channels?|chats?|conversations?|convos?|rooms?|dms?|threads?)\b))([^.;?!]*?)\b(?:(?:make|"
        r"let|have)\s+((?:\S+\s+){1,6}?)|(?:should|must|will|needs?\s+to|has\s+to)\s+)?(?:"
        r"disappear|vanish|go\s+away|be\s+gone)\s+(?:only\s+|just\s+)(?:for|from)\s+",
        r"\1 to hide \2 for ",
    ),
    (
        r"^(?=[^.;?!]*\b(?:messages?|msgs?|posts?|m-\d))([^.;?!]*?)\b(?:(?:make|let|have)\s+"
        r"((?:\S+\s+){1,6}?)|(?:should|must|will|needs?\s+to|has\s+to)\s+)?(?:disappear|vanish|"
        r"go\s+away|be\s+gone)\s+(?:only\s+|just\s+)(?:for|from)\s+",
        r"\1 to delete \2 (delete_for_me) just for ",
    ),
    # someone tired of seeing something wants it hidden
    (r"\b(?:tired|sick|fed\s+up)\s+of\s+seeing\b", " to hide "),
    # things that should go away on their own, over time: a retention policy
    (
        rf"\b{_GONE}\b"
        r"(?=[^.;?!]*\b(?:after|older|days?|weeks?|months?|years?|automatically|on their own|"
        r"by themselves)\b)"
        rf"|\b(?:old|older|stale|after|days?|weeks?|months?|years?)\b[^.;?!]*?\b{_GONE}\b",
        " to set a retention policy ",
    ),
    # a thing that should be gone now: deleted ("that entry needs to go")
    (
        r"\b(?:make|let)\s+(?:it|them|(?:the\s+)?[\w-]+)(?:\s+and\s+[\w\s'-]+?)?\s+go away\b"
        r"|\b(?:should|must|has to|have to|needs? to)\s+(?:be\s+gone|vanish|disappear|go away|"
        r"go(?=\s*(?:[.,;:!?)—–]|$)))",
        " to delete ",
    ),
    # cleaned out of a list: removed from it; cleaned out or up: deleted
    (r"\bclean\s+((?:[\w'’-]+\s+){0,3}?)out\s+of\b", r" remove \1 from "),
    (r"\bclean\s+((?:[\w'’-]+\s+){0,3}?)(?:out|up)\b", r" delete \1 "),
    # someone whom another does not want contacting them: blocked
    (
        rf"\b{_NOT_WANT}\s+(@?\w[\w.-]*)\s+(?:to\s+)?{_CONTACT}\s+(?:me|us|them|him|her)\b",
        r" to block \1 ",
    ),
    # taken out of a group or list: removed from it ("pull u-1 and u-2 out of the segment")
    (r"\b(?:pull|take|get)\s+([^.;,?!]{1,40}?)\s+out\s+of\b", r" remove \1 from "),
    # what is left as it is, is not what the request is about: "leave her other channels
    # alone", "the message itself stays"
    (r"\bleave\s+((?:[\w'’-]+\s+){0,4}?)alone\b", r" not \1, "),
    (
        r"\b((?:the\s+|its\s+|their\s+|his\s+|her\s+)?[\w-]+(?:\s+itself)?)\s+"
        r"(?:stays|remains|stay|remain)(?:\s+(?:as is|intact|untouched|unchanged|put|there))?"
        r"(?=\s*(?:[.;,)!?—–-]|$))",
        r" not \1, ",
    ),
    # a kind of channel is a channel type ("a new kind of channel"); "channels of type team"
    # are channels
    (
        r"\b(?:kinds|types|sorts|categories)\s+of\s+(?:channel|room|conversation|chat)s?\b",
        " channel types ",
    ),
    (
        r"\b(?:kind|type|sort|category)\s+of\s+(?:channel|room|conversation|chat)s?\b",
        " channel type ",
    ),
    # what someone was typing and has not sent: their draft
    (
        r"\bwhat(?:ever)?\s+@?[\w.-]+\s+(?:was|were|had been|has been)\s+(?:typing|composing|"
        r"writing)\b",
        " the draft ",
    ),
    # the old version of something is not its v2 ("the legacy import", "old-style jobs"),
    # unless the request names the v2 too ("the v2 importer instead of the classic import")
    (r"^(?!.*\bv2\b)(.*?)\b(?:legacy|old[- ]style|classic|v1)\b(.*)$", r"\1 legacy \2 (not v2)"),
    # a copy kept for the record: an export
    (
        r"\b(?:keep|make|save|take|store|get)\s+(?:a\s+)?(?:copy|copies|backup|back-up)\s+of\b",
        " to export ",
    ),
    (r"\bfor (?:our|the|my|your) records\b", " for export "),
    # archiving for compliance, legal or the records is an export, not Stream's archiving
    (
        r"\barchiv(?:e|ing)\b(?=[^.;?!]*\b(?:complian\w*|legal|records?|regulat\w*|audit\w*)\b)",
        " export ",
    ),
    # who took a moderation action, or what moderators did: the moderation log
    (
        r"\bwho (banned|unbanned|kicked|removed|deleted|suspended|shadow ?banned)\b",
        r" moderation log of who \1 ",
    ),
    (
        r"\bwhat (?:the\s+)?(?:other\s+)?(?:moderators?|mods|admins?)\s+"
        r"(?:did|have done|have been doing)\b",
        " show moderation log of moderator actions ",
    ),
)

IMPLIES: tuple[tuple[str, str], ...] = (
    # membership
    ("kick", "remove member"),
    ("boot", "remove member"),
    ("eject", "remove member"),
    ("leave", "remove member"),
    ("join", "add member"),
    ("moderator", "channel member role"),
    ("invite", "add member"),
    # a name ("bob") reads as "someone": adding someone to a thing makes them its member
    ("add someone to", "add member"),
    ("remove someone from", "remove member"),
    # conversations and messages
    ("dm", "distinct channel member"),
    ("conversation with someone", "distinct channel member"),
    ("chat with someone", "distinct channel member"),
    ("clear unread", "mark read"),
    ("reply to", "send message"),
    ("message someone", "send message"),
    ("direct message", "distinct channel member"),
    ("typing", "send event"),
    ("custom event", "send event"),
    ("like", "reaction"),
    ("unlike", "delete reaction"),
    ("thumbs up", "reaction"),
    ("thumbs down", "reaction"),
    # a language named is a translation wanted
    *(
        (language, "language")
        for language in (
            "english",
            "spanish",
            "french",
            "german",
            "italian",
            "portuguese",
            "dutch",
            "russian",
            "japanese",
            "chinese",
            "korean",
            "arabic",
            "hindi",
            "turkish",
            "polish",
        )
    ),
    # accounts
    ("quarantine", "deactivate"),
    ("account access again", "reactivate"),
    ("welcome back", "unban"),
    ("allowed back", "unban"),
    ("heart", "reaction"),
    ("emoji", "reaction"),
    ("react", "reaction"),
    ("pin conversation", "member pinned"),
    ("pin chat", "member pinned"),
    ("pin channel", "member pinned"),
    ("unpin channel", "member pinned"),
    ("archive", "member archived"),
    ("unarchive", "member archived"),
    ("rename", "update name"),
    ("read receipt", "mark read"),
    ("delivery receipt", "mark delivered"),
    ("delivered", "mark delivered"),
    ("seen", "mark read"),
    ("giphy", "message action"),
    ("shuffle", "message action giphy"),
    ("fix typo", "update message text"),
    ("say", "send message"),
    ("tell", "send message"),
    ("post", "send message"),
    ("write", "send message"),
    ("announce", "send message"),
    ("wipe", "truncate"),
    ("for later", "reminder"),
    ("remind", "reminder"),  # "what I asked to be reminded about"
    ("record of", "export"),
    ("transcript", "export"),
    ("how many", "count"),
    ("how often", "count"),
    ("number of", "count"),
    ("bookmark", "reminder"),
    ("compliance", "export"),
    ("back up", "export"),
    ("backup", "export"),
    ("last message", "recent message"),
    ("latest message", "recent message"),
    ("newest message", "recent message"),
    # moderation
    ("timeout", "ban timeout"),
    ("shadow ban", "ban"),
    ("report", "flag"),
    ("silence", "mute"),
    ("stop notification", "mute"),
    ("profanity", "blocklist"),
    ("swear", "blocklist"),
    # users
    ("who is in", "member"),
    ("online", "query user"),
    ("display name", "update user name"),
    ("avatar", "image"),
    ("make admin", "update user role"),
    # a person's attributes are their user's: "bob's role", "alice's name and avatar"
    ("someone role", "user role"),
    ("someone name", "user name"),
    ("someone avatar", "user image"),
    ("someone profile", "user"),
    ("someone email", "user"),
    ("admin", "role"),
    ("gdpr", "export user delete user"),
    ("sign up", "create user"),
    # Stream creates users by upserting them
    ("create user", "upsert users"),
    ("new user", "upsert users"),
    ("new account", "upsert users"),
    ("onboard", "upsert users"),
    ("visitor", "guest"),
    # push
    ("ios", "apns"),
    ("iphone", "apns device"),
    ("android", "firebase device"),
    ("huawei", "push provider"),
    ("xiaomi", "push provider"),
    ("notify", "push notification"),
    # app
    ("webhook", "app settings"),
    ("multi tenancy", "app settings multi tenant"),
    ("sns", "check sns"),
    ("sqs", "check sqs"),
    ("older than", "retention"),
    ("tenant", "team usage"),
)

# The kind of action a request asks for. Stream's ids start with a verb (GetX, ListX, DeleteX),
# but these verbs are so common that BM25 gives them little weight; the index boosts the
# operations whose verb agrees with the request's. Pinning, archiving, freezing and renaming
# are all done in Stream by updating a message, membership or channel.
ACTION_WORDS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    # "start a poll" creates one; StartCampaign still agrees through its own verb "start"
    (
        ("create",),
        ("create", "add", "new", "make", "register", "define", "set up", "start", "save", "store"),
    ),
    (
        ("delete",),
        (
            "delete", "remove", "discard", "drop", "erase", "unregister", "destroy", "purge",
            "nuke", "scrap", "trash", "yank", "ditch", "axe", "retire", "decommission", "sunset",
        ),
    ),
    (
        ("update",),
        (
            "update", "edit", "change", "modify", "rename", "replace", "patch", "configure",
            "set", "turn on", "turn off", "enable", "disable", "upsert", "pin", "unpin", "swap",
            "flip", "toggle",
            "archive", "unarchive", "freeze", "unfreeze", "point", "overwrite",
        ),
    ),
    (("read",), ("get", "fetch", "retrieve", "grab", "pull", "look up", "inspect", "detail")),
    # adding someone to a channel or group changes it, or creates a membership
    (("create", "update"), ("add someone to",)),
    (("delete", "update"), ("remove someone from",)),
    (("read", "list"), ("show", "view", "see", "display")),
    (("list",), ("list", "query", "find", "search", "browse")),
    # trying whether something works, changing nothing: CheckPush, ValidateImporter…
    (("test",), ("test", "check", "verify", "validate")),
)  # fmt: skip
# Verbs people use for the verbs of Stream's ids: as a word, each also counts as the id verb,
# so an operation does not win for happening to use the same synonym ("drop", "fetch") in its
# text as the request, over one whose id says "delete" or "get".
VERB_SYNONYMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("delete", ("drop", "erase", "discard", "destroy", "purge", "nuke", "scrap", "trash", "yank",
                "ditch", "axe", "retire", "decommission", "sunset")),
    ("get", ("fetch", "retrieve", "grab", "pull")),
    ("update", ("edit", "modify")),
    # a task or job is stopped by cancelling it
    ("cancel", ("abort", "kill", "stop", "halt")),
)  # fmt: skip
# A request that opens with a question ("is bob online?", "who reacted?", "does the segment
# include 7?") asks to read. Plain "how" is left out: "how do I ban bob" asks to ban.
QUESTION_WORDS: tuple[str, ...] = (
    "is", "are", "was", "were", "am", "what", "whats", "which", "who", "whom", "whose", "where",
    "wheres", "when", "does", "do", "did", "has", "have", "can", "how many", "how much",
    "how long", "how often",
)  # fmt: skip
# Openers that make a command polite rather than a question: "can you ban bob", "please …".
POLITE_WORDS: frozenset[str] = frozenset({"please", "pls", "plz", "kindly", "hey", "ok", "okay"})
POLITE_MODALS: frozenset[str] = frozenset({"can", "could", "would", "will"})
QUESTION_ACTIONS: tuple[str, ...] = ("read", "list")
# Bulk operations say so in their curated summary ("Delete several channels at once"); a
# request asks for one with a cue like these, or a count ("for 100 users"). Without a cue the
# single-item operation is the better answer ("freeze the channel" is not a batch update).
# "all" is a cue only before a plural ("all my channels"), not in "all data for alice".
BULK_MARKERS: tuple[str, ...] = (
    "several", "many", "every", "bulk", "batch", "at once", "in one call",
)  # fmt: skip
BULK_CUES: tuple[str, ...] = (
    "bulk", "batch", "at once", "in one go", "in one call", "in one request", "in a single call",
    "several", "many", "multiple", "mass", "en masse", "every", "lots of", "hundreds of",
    "thousands of", "dozens of",
)  # fmt: skip
# In a question, these words report what was said ("what did alice say about pricing?", "did
# anyone mention a refund?"): the answer is a search of message text, not sending a message.
SPEECH_WORDS: tuple[str, ...] = (
    "say", "said", "mention", "talk", "discuss", "write", "wrote", "post", "ask", "complain",
    "bring up", "brought up",
)  # fmt: skip
SPEECH_MEANS = "search message text"
# "read" opening a request asks to read ("read the last 20 messages", "read message 42"), not
# to mark something read, unless a noun follows that makes it one ("read receipts").
READ_NOUNS: frozenset[str] = frozenset(
    {"receipt", "receipts", "state", "status", "marker", "markers", "position", "positions",
     "event", "events", "only", "access", "permission", "permissions", "count", "counts"}
)  # fmt: skip
# Operations that undo another (unban, unmute, StopWatchingChannel, CancelImportV2Task) are
# wanted only when the request says to undo something: "watch a channel" does not mean "stop
# watching" it, nor "shadowban the spammer" "unban" them. An id verb "un…" whose rest is
# another id verb undoes it; so do these. A request undoes when it has one of UNDO_CUES, or a
# word "un…" whose rest the catalog knows ("unsubscribe", "unwatch").
UNDOING_VERBS: tuple[str, ...] = ("stop", "cancel")
# Id verbs of operations that test something and change nothing ("CheckExternalStorage"):
# they answer a question ("is the bucket reachable?") as a read does.
TESTING_VERBS: tuple[str, ...] = ("check", "validate", "verify", "test")
UNDO_CUES: tuple[str, ...] = (
    "stop", "cancel", "halt", "end", "abort", "quit", "lift", "undo", "reverse", "revoke",
    "remove", "delete", "drop", "restore", "reinstate", "again", "back", "allow", "let", "pause",
    "revert", "no longer", "anymore", "any more", "finish", "terminate", "kill", "leave", "exit",
    "opt out", "turn off", "switch off", "disable", "undone", "regret", "take back",
)  # fmt: skip
# Of UNDO_CUES, those that say outright to reverse something done ("wants that undone", "I
# regret banning eve"): the operation that undoes it is wanted, not the one that did it.
REVERSAL_CUES: tuple[str, ...] = (
    "undo", "undone", "reverse", "reversed", "revert", "reverted", "regret", "take back",
    "roll back", "rollback",
)  # fmt: skip
# Words that make a request a command, beyond the action words and aliases above. A request
# with no verb at all ("blocked users", "push providers", "moderation rules") asks to see those
# things. Inflected forms do not count: "blocked" and "pinned" describe, "votes" names.
OTHER_VERBS: tuple[str, ...] = (
    "analyze", "appeal", "ban", "block", "bypass", "cancel", "cast", "check", "commit",
    "deactivate", "export", "flag", "hide", "insert", "mark", "mute", "reactivate", "restore",
    "run", "send", "show", "start", "stop", "submit", "sync", "translate", "truncate", "unban",
    "unblock", "undelete", "unmute", "upload", "validate", "read", "kick", "boot", "eject",
    "leave", "join", "invite", "tell", "announce", "wipe", "silence", "report", "notify", "watch",
    "subscribe", "unsubscribe", "keep", "prevent", "allow", "let", "test", "verify", "ping",
    "remind", "bookmark", "approve", "reject", "settle", "escalate", "resolve", "classify",
    "scan", "moderate", "record", "exempt", "whitelist", "promote", "demote", "reply", "react",
    "vote", "catch", "load", "open", "close", "lock", "unlock", "clear", "reset", "revoke",
    "assign", "import", "download", "attach", "unhide", "undo", "broadcast", "schedule",
    "launch", "send", "say", "post", "write", "ask", "contest", "dispute", "track", "count",
    "preview", "try", "label", "tag", "archive", "pin", "unpin", "freeze", "unfreeze", "mention",
    "draft", "compose", "point", "onboard",
)  # fmt: skip
# Plural nouns that name aspects of one thing, not many things: "rule r_7 details" asks for
# one rule, "test run 4 results" for one run.
ASPECTS: frozenset[str] = frozenset(
    {"details", "settings", "results", "contents", "stats", "statistics", "properties",
     "fields", "metadata", "rows", "conditions", "filters", "specs", "options", "infos",
     "entries"}
)  # fmt: skip
# Words that qualify the verb after them ("bulk update", "soft delete", "only push"): they
# do not make it a noun, as "compliance" does in "compliance archive" (and "auto" in "auto
# delete", which is a retention policy).
MODIFIERS: frozenset[str] = frozenset(
    {"bulk", "batch", "mass", "soft", "hard", "only", "temporary", "permanent", "global",
     "shadow", "ip", "full", "partial"}
)  # fmt: skip
# A request that opens with one of these names a subject, not an action ("the broadcast has to
# halt"): its verb is the one after a modal marker ("must", "has to" → "to", "should").
DETERMINERS: frozenset[str] = frozenset(
    {"the", "this", "that", "these", "those", "our", "my", "your", "their", "his", "her", "its"}
)
MODAL_MARKERS: frozenset[str] = frozenset({"must", "should", "to", "shall"})
# Verbs that are hardly ever nouns: ending a terse request, they are its action ("importer
# bucket remove", "feeds mod template delete"), where "user export" or "word list" name a thing.
TRAILING_VERBS: frozenset[str] = frozenset(
    {"delete", "remove", "create", "add", "rename", "erase", "purge", "drop", "deactivate",
     "reactivate", "unban", "unmute", "unblock", "unpin", "unarchive", "undelete", "restore",
     "enable", "disable", "revoke", "reset", "cancel", "stop", "start", "send", "get", "fetch",
     "show", "set", "edit", "update", "change", "upsert", "check", "validate", "verify"}
)  # fmt: skip
# Nouns of the catalog that people also use as verbs: a verb only before what it acts on
# ("message bob", "draft a reply"), else a noun ("message reactions", "mention groups").
NOUN_VERBS: tuple[str, ...] = ("message", "draft", "reply", "mention")
# After a read verb, these ask for a list ("show every permission").
QUANTIFIERS: tuple[str, ...] = ("all", "every", "each")
# Ids written with a conventional prefix for the kind of thing they name: "cmp-9" is a
# campaign and "u-5" a user, as "#general" is a channel, so the prefix counts as a mention of
# that thing. A prefix of one or two letters is too short to be sure of on its own, so it
# counts only before a number ("u-5", "ri-9", but not "u-turn" or "ux-review"); a longer one
# also before a name ("seg-beta").
ID_KINDS: tuple[tuple[str, str], ...] = (
    ("u", "user"),
    ("usr", "user"),
    ("m", "message"),
    ("ch", "channel"),
    ("p", "poll"),
    ("o", "option"),
    ("opt", "option"),
    ("v", "vote"),
    ("seg", "segment"),
    ("cmp", "campaign"),
    ("camp", "campaign"),
    ("imp", "import"),
    ("q", "queue"),
    ("ri", "review item"),
    ("rq", "review queue item"),
    ("ug", "user group"),
    ("bl", "blocklist"),
    ("ap", "appeal"),
    ("t", "task"),
    ("th", "thread"),
    ("dr", "draft"),
    ("cmd", "command"),
    ("tpl", "template"),
)
# Words of operation ids that say *how* rather than *what*; a request need not mention them.
ID_QUALIFIERS: frozenset[str] = frozenset(
    {"partial", "or", "create", "many", "batch", "bulk", "v2"}
)
# Words that may come before an id's verb and say how, not what: "bulk_upsert_action_config"
# upserts, "GroupedQueryChannels" queries.
ID_PREFIXES: frozenset[str] = frozenset({"bulk", "batch", "v2", "grouped"})

# An operation's action, from the first word of its id.
OPERATION_ACTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("get", ("read",)),
    ("list", ("list",)),
    ("query", ("list",)),
    ("search", ("list",)),
    ("create", ("create",)),
    ("add", ("create",)),
    ("upsert", ("create", "update")),
    ("delete", ("delete",)),
    ("remove", ("delete",)),
    ("update", ("update",)),
    ("set", ("update",)),
    ("exists", ("read",)),
    *((verb, ("test",)) for verb in TESTING_VERBS),
)

# A request's leading verb, as the verb Stream's ids use for it ("report this" → flag).
VERB_ALIASES: tuple[tuple[str, str], ...] = (
    ("vote", "cast"),
    ("report", "flag"),
    ("post", "send"),
    ("message", "send"),
    ("dm", "send"),
    ("say", "send"),
    ("write", "send"),
    ("reply", "send"),
    ("tell", "send"),
    ("react", "send"),
    ("like", "send"),
    ("kick", "update"),
    ("invite", "update"),
    ("leave", "update"),
    ("join", "update"),
    ("silence", "mute"),
    ("unhide", "show"),
    ("launch", "start"),
    ("halt", "stop"),
    ("recover", "restore"),
    ("revive", "restore"),
    # a moderator's decision on a flagged item is an action submitted on it
    ("resolve", "submit"),
    ("escalate", "submit"),
    ("dismiss", "submit"),
)
