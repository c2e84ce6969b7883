"""Indonesian given names and second names for synthetic residents (Javanese, Sundanese,
Betawi, Batak, Chinese-Indonesian and Christian names mixed, as in Tangerang)."""

MALE = (
    "Agus", "Ahmad", "Andi", "Arif", "Bagus", "Bambang", "Budi", "Dedi", "Denny", "Dimas",
    "Eko", "Fajar", "Fikri", "Gilang", "Hadi", "Hendra", "Heru", "Ilham", "Imam", "Indra",
    "Irfan", "Joko", "Kevin", "Lukman", "Muhammad", "Nanda", "Oki", "Putra", "Rahmat", "Rizal",
    "Rizky", "Rudi", "Ryan", "Samsul", "Slamet", "Sugeng", "Taufik", "Teguh", "Wahyu", "Yoga",
    "Yusuf", "Zaki", "Asep", "Ujang", "Dadang", "Cecep", "Haris", "Marulitua", "Stefanus",
    "Yohanes", "Michael", "Hendrik", "Sutrisno", "Suparman", "Haji", "Bayu", "Galih", "Anton",
)
FEMALE = (
    "Ani", "Ayu", "Citra", "Dewi", "Dian", "Eka", "Endang", "Fitri", "Indah", "Intan",
    "Kartika", "Lestari", "Lina", "Maya", "Mega", "Nadia", "Nia", "Novi", "Nur", "Nurul",
    "Putri", "Rani", "Ratna", "Rina", "Rini", "Sari", "Siti", "Sri", "Tuti", "Wulan",
    "Yanti", "Yuni", "Yulia", "Aisyah", "Annisa", "Salsabila", "Neng", "Euis", "Imas",
    "Lilis", "Cicih", "Maria", "Veronika", "Theresia", "Melati", "Suharti", "Sumiati",
    "Aulia", "Zahra", "Kirana", "Nabila", "Febri", "Larasati",
)
SECOND = (
    "Setiawan", "Saputra", "Hidayat", "Kurniawan", "Pratama", "Wijaya", "Santoso", "Gunawan",
    "Nugroho", "Susanto", "Hermawan", "Firmansyah", "Ramadhan", "Maulana", "Permana",
    "Hakim", "Syahputra", "Wibowo", "Purnomo", "Sihombing", "Siregar", "Simanjuntak",
    "Nasution", "Lubis", "Tanjung", "Halim", "Tanoto", "Gunadi", "Sutanto", "Hasibuan",
    "Rahman", "Fauzi", "Iskandar", "Sudrajat", "Suryadi", "Kusuma", "Anggraini", "Lestari",
    "Rahmawati", "Wulandari", "Handayani", "Puspita", "Safitri", "Novitasari", "Utami",
)
# Second names that are only given to women.
FEMALE_SECOND = ("Anggraini", "Lestari", "Rahmawati", "Wulandari", "Handayani", "Puspita",
                 "Safitri", "Novitasari", "Utami")
BIRTH_PLACES = ("Tangerang",) * 8 + ("Jakarta", "Jakarta", "Serang", "Bogor", "Bandung",
                                     "Lebak", "Pandeglang", "Cirebon", "Semarang", "Medan",
                                     "Padang", "Palembang", "Surabaya", "Brebes", "Tegal")
STREETS = ("Jl. Merdeka", "Jl. Daan Mogot", "Jl. Gatot Subroto", "Jl. KH Hasyim Ashari",
           "Jl. Imam Bonjol", "Jl. Sudirman", "Jl. MH Thamrin", "Jl. Teuku Umar", "Jl. Cisadane",
           "Jl. Kali Pasir", "Jl. Perintis Kemerdekaan", "Jl. Raden Saleh", "Jl. Cendrawasih",
           "Jl. Mawar", "Jl. Melati", "Jl. Anggrek", "Jl. Flamboyan", "Jl. Kenanga")
