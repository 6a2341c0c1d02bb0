"""Shared word lists that fill prompt slots: people, places, things, languages."""

from __future__ import annotations

FIRST_NAMES: tuple[str, ...] = (
    "Alice", "Bob", "Carmen", "Dmitri", "Esther", "Farid", "Grace", "Hiro", "Ines", "Jamal",
    "Kofi", "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tariq",
    "Uma", "Viktor", "Wei", "Ximena", "Yusuf", "Zoe", "Aiko", "Bruno", "Chloe", "Diego",
    "Elif", "Femi", "Gita", "Hana", "Ivan", "Jonas", "Kira", "Luca", "Maya", "Nikhil",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Garcia", "Smith", "Nguyen", "Kowalski", "Okafor", "Müller", "Tanaka", "Silva", "Rossi",
    "Haddad", "Johansson", "Patel", "Kim", "Dubois", "Novak", "Mensah", "Fischer", "Lopez",
    "Ivanova", "Chen", "Moreau", "Andersen", "Costa", "Yilmaz", "Reyes", "O'Brien", "Sato",
)  # fmt: skip
CITIES: tuple[str, ...] = (
    "Lisbon", "Kyoto", "Mexico City", "Cape Town", "Vancouver", "Istanbul", "Hanoi", "Prague",
    "Buenos Aires", "Seoul", "Marrakech", "Edinburgh", "Bangkok", "Copenhagen", "Nairobi",
    "Melbourne", "Reykjavik", "Porto", "Oaxaca", "Tbilisi", "Singapore", "Montreal", "Seville",
    "Krakow", "Bali", "Dubrovnik", "Cusco", "Hokkaido", "Chicago", "New Orleans", "Lyon",
)  # fmt: skip
LANGUAGES: tuple[str, ...] = (
    "Spanish", "French", "German", "Portuguese", "Japanese", "Mandarin Chinese", "Korean",
    "Hindi", "Arabic", "Italian", "Dutch", "Polish", "Turkish", "Vietnamese", "Indonesian",
    "Swedish", "Russian", "Ukrainian", "Greek", "Swahili", "Thai", "Hebrew",
)  # fmt: skip
PROG_LANGS: tuple[str, ...] = (
    "Python", "TypeScript", "JavaScript", "Rust", "Go", "Java", "C++", "C#", "Kotlin",
    "Swift", "Ruby", "PHP", "Scala", "Haskell", "Elixir", "C", "Bash",
)  # fmt: skip
COMPANIES: tuple[str, ...] = (
    "Nimbus Telecom", "Brightcart", "Orbital Bank", "Skylane Airways", "Pinecone Energy",
    "Helix Health", "Lumen Mobile", "Quanta Insurance", "Redwood Realty", "Tidal Streaming",
    "Vertex Fitness", "Mosaic Furniture", "Alpine Outdoor", "CloudNest Hosting", "Parcelly",
)  # fmt: skip
PRODUCTS: tuple[str, ...] = (
    "wireless earbuds", "standing desk", "espresso machine", "trail running shoes",
    "robot vacuum", "4K monitor", "smart thermostat", "hiking backpack", "air fryer",
    "mechanical keyboard", "electric toothbrush", "yoga mat", "cast iron skillet",
    "noise-cancelling headphones", "e-reader", "baby stroller", "office chair", "drone",
    "portable charger", "weighted blanket", "smartwatch", "gaming mouse", "rice cooker",
)  # fmt: skip
INGREDIENTS: tuple[str, ...] = (
    "chicken thighs", "chickpeas", "spinach", "feta", "sweet potatoes", "tofu", "rice",
    "eggs", "salmon", "lentils", "mushrooms", "zucchini", "ground beef", "coconut milk",
    "black beans", "quinoa", "bell peppers", "shrimp", "halloumi", "leftover pasta",
    "avocado", "kale", "ginger", "canned tomatoes", "cauliflower", "pork belly",
)  # fmt: skip
HOBBIES: tuple[str, ...] = (
    "gardening", "rock climbing", "baking sourdough", "chess", "photography", "knitting",
    "running marathons", "birdwatching", "playing guitar", "board games", "fishing",
    "vintage cars", "anime", "pottery", "cycling", "video games", "jazz",
)  # fmt: skip
RELATIONS: tuple[str, ...] = (
    "mom", "dad", "sister", "brother", "best friend", "boss", "coworker", "grandma",
    "partner", "neighbor", "teacher", "roommate", "son", "daughter", "wife", "husband",
)  # fmt: skip
SKILLS: tuple[str, ...] = (
    "public speaking", "touch typing", "Excel pivot tables", "watercolor painting",
    "Spanish", "investing", "swimming", "negotiation", "SQL", "piano", "cooking",
    "data analysis", "drawing", "meditation", "time management", "UX design",
)  # fmt: skip
EVERYDAY_CONCEPTS: tuple[str, ...] = (
    "inflation", "compound interest", "how vaccines work", "black holes", "blockchain",
    "the stock market", "climate change", "jet lag", "credit scores", "photosynthesis",
    "how airplanes fly", "why the sky is blue", "mortgages", "the immune system",
    "machine learning", "tides", "daylight saving time", "how WiFi works", "sleep cycles",
    "recession", "carbon offsets", "index funds", "interest rates", "the electoral college",
)  # fmt: skip
ADJ_TONES: tuple[str, ...] = (
    "friendly", "formal", "playful", "concise", "warm", "professional", "enthusiastic",
    "empathetic", "neutral", "persuasive",
)  # fmt: skip
MONTHS: tuple[str, ...] = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
