"""Static data the generator draws from: Ghent and neighbouring addresses, names, city institutions.

Kept apart from the generator so the numbers that make the population look like Ghent are easy to review.
NIS codes (Statbel, valid from 1 January 2025): Gent 44021; Destelbergen 44013; Merelbeke-Melle 44088 (the
merger of Merelbeke 44048 and Melle 44043 on 1 January 2025, postcodes 9820 and 9090). 90xx/98xx postcodes
outside 44021 are the trap SCHEMES.md warns about: a postcode alone never makes someone a Ghent resident.
"""

from __future__ import annotations

from datetime import date

__all__ = [
    "GHENT_NIS",
    "GHENT_POSTCODES",
    "NEAR_GHENT",
    "ELSEWHERE",
    "MERGER_2025",
    "nis_for",
    "STREETS",
    "LAST_NAMES",
    "FIRST_NAMES_M",
    "FIRST_NAMES_F",
    "SCHOOLS",
    "SECONDARY_SCHOOLS",
    "CHILDCARE",
    "OUT_OF_SCHOOL_CARE",
    "VEHICLE_MODELS",
]

GHENT_NIS = "44021"
MERGER_2025 = date(2025, 1, 1)

# postcode -> (deelgemeente label, relative weight of Ghent's population living there)
GHENT_POSTCODES: dict[str, tuple[str, int]] = {
    "9000": ("Gent", 44),
    "9030": ("Mariakerke", 5),
    "9031": ("Drongen", 5),
    "9032": ("Wondelgem", 4),
    "9040": ("Sint-Amandsberg", 11),
    "9041": ("Oostakker", 5),
    "9042": ("Sint-Kruis-Winkel", 2),
    "9050": ("Gentbrugge", 13),
    "9051": ("Sint-Denijs-Westrem", 3),
    "9052": ("Zwijnaarde", 3),
}

# Neighbours whose postcodes look like Ghent's:
# postcode -> (municipality, NIS code since 2025, municipality before 2025, NIS code before 2025)
NEAR_GHENT: dict[str, tuple[str, str, str, str]] = {
    "9070": ("Destelbergen", "44013", "Destelbergen", "44013"),
    "9090": ("Merelbeke-Melle", "44088", "Melle", "44043"),
    "9820": ("Merelbeke-Melle", "44088", "Merelbeke", "44048"),
}

# Further away (movers): postcode -> (municipality, NIS code)
ELSEWHERE: dict[str, tuple[str, str]] = {
    "2000": ("Antwerpen", "11002"),
    "1000": ("Brussel", "21004"),
    "8000": ("Brugge", "31005"),
    "9300": ("Aalst", "41002"),
    "3000": ("Leuven", "24062"),
}


def nis_for(postcode: str, on: date) -> tuple[str, str]:
    """(municipality, NIS code) of a postcode on a date: Merelbeke and Melle had their own codes before 2025."""
    if postcode in GHENT_POSTCODES:
        return "Gent", GHENT_NIS
    if postcode in NEAR_GHENT:
        name, nis_now, name_before, nis_before = NEAR_GHENT[postcode]
        return (name_before, nis_before) if on < MERGER_2025 else (name, nis_now)
    return ELSEWHERE[postcode]


STREETS: dict[str, tuple[str, ...]] = {
    "9000": ("Veldstraat", "Sint-Pietersnieuwstraat", "Overpoortstraat", "Kortrijksesteenweg", "Sleepstraat",
             "Dampoortstraat", "Coupure Links", "Nederkouter", "Hoogstraat", "Sint-Jacobsnieuwstraat",
             "Vlaanderenstraat", "Wondelgemstraat", "Rooigemlaan", "Bevrijdingslaan", "Forelstraat",
             "Sint-Lievenslaan", "Tichelrei", "Sint-Salvatorstraat", "Kortrijksepoortstraat", "Bagattenstraat",
             "Jozef Guislainstraat", "Rabotstraat", "Meulestedekaai", "Elisabethlaan", "Koning Albertlaan",
             "Brugsesteenweg", "Blaisantvest", "Zwijnaardsesteenweg", "Kasteellaan", "Muinkkaai"),
    "9030": ("Brugsesteenweg", "Groenestaakstraat", "Oude Gentweg", "Ryvissche", "Hoogwaardeweg"),
    "9031": ("Deinsesteenweg", "Baarleveldestraat", "Drongenplein", "Koninginnelaan", "Vierweegsestraat"),
    "9032": ("Botestraat", "Wondelgemkaai", "Pieter Vanhouttestraat", "Guido Gezellelaan", "Industrieweg"),
    "9040": ("Antwerpsesteenweg", "Land van Waaslaan", "Victor Braeckmanlaan", "Aannemersstraat",
             "Pasteurlaan", "Heiveldstraat"),
    "9041": ("Eikenberg", "Sint-Jozefstraat", "Oostakkerdorp", "Weststraat", "Gentstraat"),
    "9042": ("Sint-Kruis-Winkeldorp", "Zeeschipstraat", "Mendonkdorp", "Pantserschipstraat"),
    "9050": ("Brusselsesteenweg", "Hundelgemsesteenweg", "Jan Delvinlaan", "Gentbruggeplein", "Ledebergplein",
             "Bellevuestraat", "Oude Brusselseweg"),
    "9051": ("Putkapelstraat", "Afsneedorp", "Beukenlaan", "Maaltebruggestraat"),
    "9052": ("Grotesteenweg-Noord", "Hutsepotstraat", "Rijvisschestraat", "Heistraat"),
    "9070": ("Dendermondesteenweg", "Eenbeekstraat", "Kerkstraat", "Vossenhol", "Emiel Hullebroeckstraat"),
    "9090": ("Gontrode Heirweg", "Brusselsesteenweg", "Kerkstraat", "Vossenstraat"),
    "9820": ("Hundelgemsesteenweg", "Poelstraat", "Fraterstraat", "Kerkstraat", "Salisburylaan"),
    "2000": ("Meir", "Lange Nieuwstraat", "Nationalestraat"),
    "1000": ("Nieuwstraat", "Lakensestraat", "Kolenmarkt"),
    "8000": ("Steenstraat", "Langestraat", "Ezelstraat"),
    "9300": ("Nieuwstraat", "Kerkstraat", "Gentsesteenweg"),
    "3000": ("Bondgenotenlaan", "Naamsestraat", "Tiensestraat"),
}

LAST_NAMES: tuple[str, ...] = (
    "Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters", "De Smet",
    "De Vos", "Dubois", "Hermans", "Martens", "Vermeulen", "Desmet", "De Clercq", "Van Damme", "De Backer",
    "Verhaeghe", "Van de Velde", "Vandenberghe", "Pauwels", "Claeys", "Van Acker", "De Meyer", "D'hondt",
    "Vanhove", "Segers", "Coppens", "Van Hecke", "De Wilde", "Baert", "De Coninck", "Verstraete", "Van Laere",
    "De Pauw", "Vervaet", "Van Den Broeck", "Temmerman", "Lippens", "Van Hoecke", "De Paepe", "Moens", "Buysse",
    "Stevens", "Lambrecht", "Declercq", "Vereecke", "De Bruyne", "El Amrani", "Yilmaz", "Kaya", "Demir", "Öztürk",
    "Benali", "Nowak", "Kowalski", "Ivanov", "Dimitrov", "Mensah", "Diallo", "Nguyen", "Haddad", "El Idrissi",
    "Bouzid", "Ahmadi", "Popescu", "Georgiev", "Rodriguez", "Şahin", "Çelik", "Aydın", "Bakker", "Müller",
)

FIRST_NAMES_M: tuple[str, ...] = (
    "Jan", "Pieter", "Luc", "Marc", "Dirk", "Koen", "Tom", "Bart", "Wim", "Filip", "Johan", "Geert", "Stefaan",
    "Noah", "Louis", "Lucas", "Liam", "Arthur", "Jules", "Adam", "Victor", "Finn", "Vic", "Mohamed", "Youssef",
    "Emre", "Mehmet", "Ayoub", "Jakub", "Ivan", "Kwame", "Amadou", "Minh", "Omar", "Rayan", "Lars", "Seppe",
    "Wout", "Jef", "Gustaaf", "Roger", "Marcel", "André", "Willy", "Etienne", "Jean-Pierre",
)

FIRST_NAMES_F: tuple[str, ...] = (
    "An", "Els", "Katrien", "Sofie", "Lien", "Sarah", "Marie", "Hilde", "Griet", "Inge", "Annick", "Veerle",
    "Olivia", "Emma", "Louise", "Mila", "Elena", "Noor", "Lina", "Ella", "Fien", "Nora", "Fatima", "Yasmina",
    "Elif", "Zeynep", "Aya", "Hanna", "Maria", "Agnieszka", "Abena", "Aminata", "Linh", "Salma", "Ines", "Febe",
    "Lotte", "Jana", "Maria-José", "Godelieve", "Jeanne", "Paula", "Simonne", "Rosa", "Irène", "Mariëtte",
)

# City institutions (Stedelijk Onderwijs Gent and the city's Dienst Kinderopvang), synthetic ids.
SCHOOLS: tuple[tuple[str, str], ...] = tuple(
    (f"SBS-{i:03d}", f"Stedelijke basisschool {name}")
    for i, name in enumerate(
        ("Brugse Poort", "Sint-Amandsberg", "Ledeberg", "Rabot", "Mariakerke", "Drongen", "Wondelgem", "Oostakker",
         "Gentbrugge", "Zwijnaarde", "Muide", "Nieuw Gent", "Sluizeken", "Macharius", "Watersportbaan",
         "Sint-Denijs-Westrem"),
        start=1,
    )
)
SECONDARY_SCHOOLS: tuple[tuple[str, str], ...] = tuple(
    (f"SSO-{i:03d}", f"Stedelijk lyceum {name}")
    for i, name in enumerate(("Ledeberg", "Sint-Amandsberg", "Centrum", "Mariakerke", "Gentbrugge", "Wondelgem"),
                             start=1)
)
CHILDCARE: tuple[tuple[str, str], ...] = tuple(
    (f"KDV-{i:03d}", f"Stedelijk kinderdagverblijf {name}")
    for i, name in enumerate(("Brugse Poort", "Dampoort", "Ledeberg", "Nieuw Gent", "Rabot", "Sint-Amandsberg",
                              "Wondelgem", "Zwijnaarde"), start=1)
)
OUT_OF_SCHOOL_CARE: tuple[tuple[str, str], ...] = tuple(
    (f"IBO-{i:03d}", f"Stedelijke buitenschoolse opvang {name}")
    for i, name in enumerate(("Brugse Poort", "Sint-Amandsberg", "Ledeberg", "Mariakerke", "Oostakker",
                              "Gentbrugge", "Drongen", "Muide"), start=1)
)

# (make, model, category, fuel code, euro norm)
VEHICLE_MODELS: tuple[tuple[str, str, str, str, str], ...] = (
    ("VOLKSWAGEN", "Golf", "M1", "10", "6"),
    ("VOLKSWAGEN", "Polo", "M1", "10", "6"),
    ("RENAULT", "Clio", "M1", "10", "6"),
    ("PEUGEOT", "208", "M1", "10", "6"),
    ("PEUGEOT", "308", "M1", "30", "6"),
    ("OPEL", "Corsa", "M1", "10", "5"),
    ("TOYOTA", "Yaris", "M1", "70", "6"),
    ("TOYOTA", "Aygo", "M1", "10", "6"),
    ("BMW", "3-reeks", "M1", "30", "6"),
    ("SKODA", "Octavia", "M1", "30", "6"),
    ("CITROEN", "C3", "M1", "10", "5"),
    ("TESLA", "Model 3", "M1", "40", ""),
    ("KIA", "Niro", "M1", "40", ""),
    ("FORD", "Fiesta", "M1", "10", "4"),
    ("FORD", "Transit Custom", "N1", "30", "6"),
    ("RENAULT", "Kangoo", "N1", "30", "5"),
    ("FIAT", "Doblo", "M1", "30", "5"),
    ("VOLVO", "XC40", "M1", "70", "6"),
)
