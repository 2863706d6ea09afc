package demo

import (
	"math/rand/v2"
	"strconv"
)

// Vietnamese personal names: họ (family name, weighted roughly by how common
// it is), tên đệm (middle name) and tên (given name) by gender. Nông, Ma,
// Lường and La are common among the Tày and Nùng of the northern midlands.
var (
	familyNames = []weighted{
		{"Nguyễn", 38}, {"Trần", 11}, {"Lê", 9}, {"Phạm", 7}, {"Hoàng", 5}, {"Phan", 4}, {"Vũ", 4},
		{"Đặng", 2}, {"Bùi", 2}, {"Đỗ", 2}, {"Hồ", 1}, {"Ngô", 1}, {"Dương", 1}, {"Lý", 1},
		{"Nông", 2}, {"Ma", 1}, {"Lường", 1}, {"La", 1}, {"Triệu", 1}, {"Đinh", 1},
	}
	middleNames = map[string][]string{
		"male":   {"Văn", "Văn", "Văn", "Đức", "Minh", "Quang", "Hữu", "Công", "Xuân", "Thanh", "Ngọc", "Tiến", "Mạnh"},
		"female": {"Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Minh", "Phương", "Hồng", "Kim", "Thúy", "Bích", "Diệu"},
	}
	givenNames = map[string][]string{
		"male": {"Hùng", "Dũng", "Tuấn", "Minh", "Nam", "Sơn", "Long", "Hải", "Đức", "Thắng", "Quân", "Hoàng",
			"Phong", "Khánh", "Bình", "Trung", "Cường", "Hiếu", "Toàn", "Việt", "An", "Huy", "Tùng", "Lâm", "Kiên"},
		"female": {"Lan", "Hương", "Hoa", "Mai", "Linh", "Trang", "Thảo", "Hà", "Ngọc", "Nhung", "Huyền", "Phương",
			"Yến", "Hằng", "Thủy", "Dung", "Giang", "Oanh", "Loan", "Vân", "Anh", "Chi", "Hạnh", "Tâm", "Quyên"},
	}
)

// Place names of the northern midlands, for communes and villages.
var placeNames = []string{
	"Hùng Sơn", "Phúc Lương", "Minh Tiến", "Đức Lương", "Tân Linh", "Phú Thịnh", "Bình Thuận", "Hà Thượng",
	"Cù Vân", "La Bằng", "Phú Xuyên", "Yên Lãng", "Quân Chu", "Văn Yên", "Mỹ Yên", "Khôi Kỳ", "Tiên Hội",
	"Hoàng Nông", "Na Mao", "Phục Linh", "Kha Sơn", "Tân Đức", "Điềm Thụy", "Lương Phú", "Tân Thành",
	"Tân Kim", "Bảo Lý", "Xuân Phương", "Nhã Lộng", "Úc Kỳ", "Thượng Đình", "Dương Thành", "Tân Hòa",
	"Hương Sơn", "Nga My", "Tân Khánh", "Bàn Đạt", "Đồng Liên", "Thanh Ninh", "Kim Phượng",
}

var villageNames = []string{
	"Đồng Cẩm", "Làng Lớn", "Bãi Chè", "Cầu Thành", "Đồng Tâm", "Gốc Gạo", "Khuôn Ngàn", "Na Mẩy",
	"Đồng Bông", "Tân Lập", "Chợ", "Đình", "Bãi Pháo", "Cây Thị", "Đầm Mua", "Làng Đông", "Làng Tây",
	"Hòa Bình", "Đồng Kén", "Suối Cát", "Trại Cài", "Khe Vàng", "Đồng Mỏ", "Ao Sen", "Gò Mít",
	"Thống Nhất", "Đoàn Kết", "Quyết Thắng", "Tân Tiến", "Phố Chợ",
}

type weighted struct {
	name   string
	weight int
}

func pickWeighted(rng *rand.Rand, list []weighted) string {
	total := 0
	for _, w := range list {
		total += w.weight
	}
	n := rng.IntN(total)
	for _, w := range list {
		if n < w.weight {
			return w.name
		}
		n -= w.weight
	}
	return list[0].name
}

func pick(rng *rand.Rand, list []string) string { return list[rng.IntN(len(list))] }

// personName returns a full name whose middle and given names fit gender.
func personName(rng *rand.Rand, gender string) string {
	return pickWeighted(rng, familyNames) + " " + pick(rng, middleNames[gender]) + " " + pick(rng, givenNames[gender])
}

// uniqueNames hands out names from a list in a seeded order, numbering
// them once the list is used up ("Đồng Cẩm 2").
type uniqueNames struct {
	order []string
	next  int
}

func newUniqueNames(rng *rand.Rand, list []string) *uniqueNames {
	order := append([]string(nil), list...)
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	return &uniqueNames{order: order}
}

func (u *uniqueNames) take() string {
	name := u.order[u.next%len(u.order)]
	if round := u.next / len(u.order); round > 0 {
		name += " " + strconv.Itoa(round+1)
	}
	u.next++
	return name
}
